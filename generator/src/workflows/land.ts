/** Landing a new cluster (new-cluster, import): one transaction, the landed cluster built and validated. */
import { InvalidInputError } from "../core/errors.js";
import type { Finding } from "../core/findings.js";
import { clusterDir } from "../core/layout.js";
import { flagFinding } from "../cluster-spec/flags.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import { isRecord } from "../k8s/object.js";
import type { TreePlan } from "../plan/files.js";
import { pathsToCommit, writeTree } from "../repo/write.js";
import { kustomizeBuild } from "../tools/kustomize.js";

/** Validates one cluster of the repository at `cwd` (validate's pipeline); errors refuse the landing. */
export type ValidateCluster = (
  cwd: string,
  cluster: string,
) => Promise<{ findings: Finding[]; summary: { errors: number } }>;

const bad = flagFinding;

/**
 * Writes everything a new cluster needs (`plan`: planNewCluster's, or import's) in one transaction (the cluster
 * folder, shared files that are missing, the sync manifests that list it; repo/write.ts checks every target folder
 * is writable before anything lands), then builds the cluster and validates it with `check` (validate's pipeline,
 * as CI runs it; none: neither built nor validated); if anything fails, everything is rolled back: the run lands
 * completely or not at all.
 */
export async function landCluster(
  cwd: string,
  spec: ClusterSpec,
  plan: TreePlan,
  check: ValidateCluster | undefined,
  log: (line: string) => void,
  commit: (paths: string[]) => Promise<void>,
): Promise<Finding[]> {
  const dir = clusterDir(spec.name);
  let landed = false;
  let warnings: Finding[] = [];
  try {
    await writeTree(cwd, plan, {
      landed: async (result) => {
        landed = true;
        for (const f of result.kept)
          log(`note: ${f} differs from what this version generates; run \`npm run generate\``);
        if (check) {
          await kustomizeBuild(cwd, dir);
          const validated = await check(cwd, spec.name);
          if (validated.summary.errors > 0)
            throw new InvalidInputError(
              validated.findings,
              `the new cluster did not validate; nothing was written (${dir} was removed again)`,
            );
          warnings = validated.findings.filter((f) => f.severity === "warning");
        }
        // --branch: committed while the change can still be rolled back (a failing commit leaves nothing behind).
        await commit(pathsToCommit(dir, result));
      },
    });
    return warnings;
  } catch (err) {
    const code = isRecord(err) ? err.code : undefined;
    if (!landed && (code === "ENOTEMPTY" || code === "EEXIST"))
      throw new InvalidInputError([
        bad("--name", `${dir} was created by someone else meanwhile; nothing was written`, "cluster-exists"),
      ]);
    throw err;
  }
}
