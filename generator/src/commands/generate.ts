/** `npm run generate`: read every spec → plan the whole tree → write what changed. */
import { versions } from "../versions.js";
import { InvalidInputError } from "../errors.js";
import { hasErrors } from "../findings.js";
import { OVERLAY_DIRS } from "../plan/base.js";
import { SPEC_SCHEMA_PATH } from "../plan/cluster.js";
import { clusterDir, PROVIDERS_DIR, SYNC_DIR } from "../repo/paths.js";
import { CONFIG_SCHEMA_PATH, planRepo } from "../plan/repo.js";
import { PROFILES } from "../cluster-spec/types.js";
import { loadRepo } from "../repo/load.js";
import { writeTree, type WriteResult } from "../repo/write.js";
import { withRepoLock } from "../repo/lock.js";

/** What the generator owns wholly (anything else under clusters/<name>/ belongs to the user). */
export function ownedRoots(clusterNames: readonly string[]): string[] {
  return [
    "base",
    OVERLAY_DIRS.clusterReferences,
    OVERLAY_DIRS.machineDeployment,
    ...PROFILES.map(OVERLAY_DIRS.profile),
    SPEC_SCHEMA_PATH,
    CONFIG_SCHEMA_PATH,
    SYNC_DIR,
    PROVIDERS_DIR,
    ...clusterNames.map((n) => `${clusterDir(n)}/generated`),
  ];
}

export async function generateCommand(opts: { cwd: string; log: (line: string) => void }): Promise<WriteResult> {
  return withRepoLock(opts.cwd, () => generateLocked(opts), { log: opts.log });
}

async function generateLocked(opts: { cwd: string; log: (line: string) => void }): Promise<WriteResult> {
  const repo = await loadRepo(opts.cwd);
  if (hasErrors(repo.findings)) throw new InvalidInputError(repo.findings, "the cluster specs are invalid; nothing was written");
  const files = planRepo({ specs: repo.specs, config: repo.config }, versions());
  const result = await writeTree(opts.cwd, files, ownedRoots(repo.specs.map((s) => s.name)));
  for (const f of result.written) opts.log(`wrote   ${f}`);
  for (const f of result.deleted) opts.log(`deleted ${f}`);
  opts.log(`${repo.specs.length} cluster(s): ${result.written.length} written, ${result.deleted.length} deleted, ${result.unchanged.length} unchanged`);
  return result;
}
