/** `--init` (generate, new-cluster): the capi-gitops.yaml a repository starts with, from its git remote origin. */
import { InvalidInputError } from "../core/errors.js";
import { CONFIG_FILE, initialConfig, parseRepoConfig, type RepoConfig } from "../cluster-spec/config.js";
import { type OutputFile, scaffold } from "../plan/files.js";
import { remoteUrl } from "../tools/git.js";
import { toYaml } from "../core/yaml.js";

/**
 * capi-gitops.yaml with repoURL from the checkout at `cwd`'s remote origin (the one Argo CD / Flux clone), and the
 * file that writes it; undefined without that remote (nothing can be said about the repoURL then).
 */
export async function configFromOrigin(cwd: string): Promise<{ config: RepoConfig; file: OutputFile } | undefined> {
  const url = await remoteUrl(cwd, "origin");
  if (!url) return undefined;
  const text = toYaml(initialConfig(url));
  const parsed = parseRepoConfig(text);
  if (!parsed.config)
    throw new InvalidInputError(
      parsed.findings.map((f) => ({ ...f, path: `--init (git remote origin: ${f.path ?? "repoURL"})` })),
      "nothing was written",
    );
  return { config: parsed.config, file: scaffold(CONFIG_FILE, text) };
}
