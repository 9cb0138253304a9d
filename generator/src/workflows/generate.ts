/**
 * Generating the tree: read every spec → plan the whole tree (its files and the roots it owns) → write what changed.
 * `generate` runs it on the repository; `e2e` on its fixture repositories and their changed copies.
 */
import { versions } from "../pins/versions.js";
import { InvalidInputError } from "../core/errors.js";
import { CONFIG_FILE } from "../cluster-spec/config.js";
import { mergePlans } from "../plan/files.js";
import { exists } from "../repo/load.js";
import { inside } from "../repo/write.js";
import { configFromOrigin } from "./init-config.js";
import { hasErrors } from "../core/findings.js";
import { planRepo } from "../plan/repo.js";
import { loadRepo } from "../repo/load.js";
import { writeTree, type WriteResult } from "../repo/write.js";
import { withRepoLock } from "../repo/lock.js";
import { addonIntegrityFindings } from "../validate/drift.js";

/**
 * `init` (--init): start a repository here — without a capi-gitops.yaml, write one (repoURL from git remote origin).
 */
export type GenerateOptions = { cwd: string; log: (line: string) => void; init?: boolean };

export async function generateTree(opts: GenerateOptions): Promise<WriteResult> {
  return withRepoLock(opts.cwd, () => generateLocked(opts), { log: opts.log });
}

async function generateLocked(opts: GenerateOptions): Promise<WriteResult> {
  const repo = await loadRepo(opts.cwd);
  if (hasErrors(repo.findings))
    throw new InvalidInputError(repo.findings, "the cluster specs are invalid; nothing was written");
  // --init without capi-gitops.yaml: write one with repoURL from the checkout's remote origin (as new-cluster --init).
  // Without that remote nothing can be said about it: the tree is written, and the run says that nothing syncs it.
  let config = repo.config;
  let configFile;
  let noSync = false;
  if (opts.init && !(await exists(inside(opts.cwd, CONFIG_FILE)))) {
    const init = await configFromOrigin(opts.cwd);
    if (!init) noSync = true;
    else {
      config = init.config;
      configFile = init.file;
    }
  }
  // What generate copies into addons/ must be what `npm run addons` wrote (addons.lock.json).
  const integrity = addonIntegrityFindings(opts.cwd, { repoCopy: false });
  if (hasErrors(integrity))
    throw new InvalidInputError(integrity, "the hydrated add-ons differ from addons.lock.json; nothing was written");
  const plan = planRepo({ specs: repo.specs, config, releases: repo.releases }, versions());
  const result = await writeTree(opts.cwd, configFile ? mergePlans([plan, { files: [configFile], roots: [] }]) : plan);
  for (const f of result.written) opts.log(`wrote   ${f}`);
  for (const f of result.deleted) opts.log(`deleted ${f}`);
  const { written, deleted, unchanged } = result;
  opts.log(
    `${repo.specs.length} cluster(s): ${written.length} written, ${deleted.length} deleted, ` +
      `${unchanged.length} unchanged`,
  );
  if (configFile)
    opts.log(
      `Started a capi-gitops repository: wrote ${CONFIG_FILE} (repoURL ${config?.repoURL} from git remote origin); ` +
        "edit it for another branch or Flux",
    );
  if (noSync)
    opts.log(
      `${CONFIG_FILE} was not written: --init takes its repoURL from git remote origin, and this folder has none. ` +
        `Nothing syncs this repository and later writers refuse the folder until ${CONFIG_FILE} exists: ` +
        "add the remote (`git remote add origin <url>`) and run `generate --init` again, " +
        `or write ${CONFIG_FILE} yourself (README "GitOps sync")`,
    );
  return result;
}
