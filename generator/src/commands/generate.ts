/** `npm run generate`: read every spec → plan the whole tree (its files and the roots it owns) → write what changed. */
import { versions } from "../versions.js";
import { InvalidInputError } from "../errors.js";
import { hasErrors } from "../findings.js";
import { planRepo } from "../plan/repo.js";
import { loadRepo } from "../repo/load.js";
import { writeTree, type WriteResult } from "../repo/write.js";
import { withRepoLock } from "../repo/lock.js";
import { addonIntegrityFindings } from "../validate/drift.js";

export async function generateCommand(opts: { cwd: string; log: (line: string) => void }): Promise<WriteResult> {
  return withRepoLock(opts.cwd, () => generateLocked(opts), { log: opts.log });
}

async function generateLocked(opts: { cwd: string; log: (line: string) => void }): Promise<WriteResult> {
  const repo = await loadRepo(opts.cwd);
  if (hasErrors(repo.findings)) throw new InvalidInputError(repo.findings, "the cluster specs are invalid; nothing was written");
  // What generate copies into addons/ must be what `npm run addons` wrote (addons.lock.json).
  const integrity = addonIntegrityFindings(opts.cwd, { repoCopy: false });
  if (hasErrors(integrity))
    throw new InvalidInputError(integrity, "the hydrated add-ons differ from addons.lock.json; nothing was written");
  const result = await writeTree(opts.cwd, planRepo({ specs: repo.specs, config: repo.config }, versions()));
  for (const f of result.written) opts.log(`wrote   ${f}`);
  for (const f of result.deleted) opts.log(`deleted ${f}`);
  opts.log(`${repo.specs.length} cluster(s): ${result.written.length} written, ${result.deleted.length} deleted, ${result.unchanged.length} unchanged`);
  return result;
}
