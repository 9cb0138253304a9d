/** `npm run generate`: read every spec → plan the whole tree (its files and the roots it owns) → write what changed. */
import { versions } from "../versions.js";
import { InvalidInputError } from "../errors.js";
import { CONFIG_FILE, initialConfig, parseRepoConfig } from "../cluster-spec/config.js";
import { mergePlans, scaffold } from "../plan/files.js";
import { exists } from "../repo/load.js";
import { inside } from "../repo/write.js";
import { remoteUrl } from "../tools/git.js";
import { toYaml } from "../yaml.js";
import { hasErrors } from "../findings.js";
import { planRepo } from "../plan/repo.js";
import { loadRepo } from "../repo/load.js";
import { writeTree, type WriteResult } from "../repo/write.js";
import { withRepoLock } from "../repo/lock.js";
import { addonIntegrityFindings } from "../validate/drift.js";

/** `init` (--init): start a repository here — without a capi-gitops.yaml, write one (repoURL from git remote origin). */
type GenerateOptions = { cwd: string; log: (line: string) => void; init?: boolean };

export async function generateCommand(opts: GenerateOptions): Promise<WriteResult> {
  return withRepoLock(opts.cwd, () => generateLocked(opts), { log: opts.log });
}

async function generateLocked(opts: GenerateOptions): Promise<WriteResult> {
  const repo = await loadRepo(opts.cwd);
  if (hasErrors(repo.findings)) throw new InvalidInputError(repo.findings, "the cluster specs are invalid; nothing was written");
  // --init without capi-gitops.yaml: its repoURL is the checkout's remote origin (as new-cluster --init); without one
  // there is nothing to start the repository with, and success would leave a folder later writers refuse.
  let config = repo.config;
  let configFile;
  if (opts.init && !(await exists(inside(opts.cwd, CONFIG_FILE)))) {
    const url = await remoteUrl(opts.cwd, "origin");
    if (!url)
      throw new InvalidInputError(
        [{ file: CONFIG_FILE, rule: "repo-config", severity: "error", message: `--init writes ${CONFIG_FILE} with repoURL from git remote origin, and this folder has no such remote: add it (\`git remote add origin <url>\`) or write ${CONFIG_FILE} yourself (README "GitOps sync"), then run generate again` }],
        "nothing was written",
      );
    const text = toYaml(initialConfig(url));
    const parsed = parseRepoConfig(text);
    if (!parsed.config) throw new InvalidInputError(parsed.findings.map((f) => ({ ...f, path: `--init (git remote origin: ${f.path ?? "repoURL"})` })), "nothing was written");
    config = parsed.config;
    configFile = scaffold(CONFIG_FILE, text);
  }
  // What generate copies into addons/ must be what `npm run addons` wrote (addons.lock.json).
  const integrity = addonIntegrityFindings(opts.cwd, { repoCopy: false });
  if (hasErrors(integrity))
    throw new InvalidInputError(integrity, "the hydrated add-ons differ from addons.lock.json; nothing was written");
  const plan = planRepo({ specs: repo.specs, config }, versions());
  const result = await writeTree(opts.cwd, configFile ? mergePlans([plan, { files: [configFile], roots: [] }]) : plan);
  for (const f of result.written) opts.log(`wrote   ${f}`);
  for (const f of result.deleted) opts.log(`deleted ${f}`);
  opts.log(`${repo.specs.length} cluster(s): ${result.written.length} written, ${result.deleted.length} deleted, ${result.unchanged.length} unchanged`);
  return result;
}
