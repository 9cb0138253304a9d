/**
 * `npm run release -- --ring <ring>`: moves what every cluster reads (base/, the overlays) one ring forward in Git.
 * Read the repository → plan the ring's release (pure, plan/repo.ts planRingRelease: refused out of order or for an
 * unknown ring) → write releases/<ring>/ and the ring's clusters' generated/ in one transaction (repo/write.ts),
 * optionally committed on a branch.
 */
import { InvalidInputError, UsageError } from "../core/errors.js";
import { hasErrors } from "../core/findings.js";
import { clusterDir, releaseDir } from "../core/layout.js";
import { kustomizeBuild } from "../tools/kustomize.js";
import { planRingRelease, ringNames } from "../plan/repo.js";
import { versions } from "../pins/versions.js";
import { loadRepo } from "../repo/load.js";
import { withRepoLock } from "../repo/lock.js";
import { pathsToCommit, writeTree } from "../repo/write.js";
import { type CommitHook, noCommit, onBranch, preflight } from "../workflows/branch.js";

export interface ReleaseOptions {
  cwd: string;
  ring?: string;
  branch?: boolean;
  push?: string;
  log: (line: string) => void;
}

export async function releaseCommand(opts: ReleaseOptions): Promise<{ written: boolean }> {
  const ring = opts.ring;
  if (!ring) throw new UsageError("--ring <ring> is required\n\nSee: npm run release -- --help");
  const planned = async () => {
    const repo = await loadRepo(opts.cwd);
    if (hasErrors(repo.findings))
      throw new InvalidInputError(repo.findings, "the repository does not load; nothing was released");
    return { repo, release: planRingRelease(repo, versions(), ring) };
  };
  const first = await planned();
  const step = first.release.step;
  if (step.kind === "refused") throw new InvalidInputError(step.findings, "nothing was released");
  if (step.kind === "nothing") {
    opts.log(`${step.message}; nothing to release, nothing was written`);
    return { written: false };
  }
  const number = step.release.number;
  const branch = opts.branch ? { branch: `release/${ring}-${number}`, push: opts.push } : undefined;
  if (branch) await preflight(opts.cwd, branch);
  const write = (commit: CommitHook) =>
    withRepoLock(
      opts.cwd,
      async () => {
        // Planned again under the lock: another run may have released meanwhile.
        const now = await planned();
        const again = now.release;
        if (again.step.kind !== "release" || again.step.release.number !== number || !again.plan)
          throw new InvalidInputError(
            again.step.kind === "refused" ? again.step.findings : [],
            "the releases changed while this run waited for the lock; nothing was released, run the command again",
          );
        const result = await writeTree(opts.cwd, again.plan, {
          // The ring's clusters must still build from the new release; a build error rolls the release back.
          // (validate runs on the pull request, as for every change.)
          landed: async (r) => {
            for (const c of again.clusters) await kustomizeBuild(opts.cwd, clusterDir(c));
            await commit(
              pathsToCommit(releaseDir(ring), r),
              `Release ${number} to ring ${ring} (${again.clusters.length} cluster(s))`,
            );
          },
        });
        for (const f of result.written) opts.log(`wrote   ${f}`);
        for (const f of result.deleted) opts.log(`deleted ${f}`);
      },
      { log: opts.log },
    );
  if (branch) await onBranch(opts.cwd, branch, write, opts.log);
  else await write(noCommit);

  const rings = ringNames(first.repo.config);
  const next = rings[rings.indexOf(ring) + 1];
  const clusters = first.release.clusters;
  opts.log(
    `Released release ${number} to ring ${ring} (${releaseDir(ring)}/, from ${step.from}): ` +
      `${clusters.length ? `clusters ${clusters.join(", ")} build from it` : "no cluster is in this ring yet"}.`,
  );
  opts.log(
    next === undefined
      ? `Ring ${ring} is the last ring: once this merges, release ${number} has reached every ring.`
      : `Merge it; once ring ${ring}'s clusters are Available, release the next ring: ` +
          `npm run release -- --ring ${next}`,
  );
  return { written: true };
}
