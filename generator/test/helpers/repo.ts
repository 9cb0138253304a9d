/** Real temporary git repositories for the tests (and benchmarks) that need one. */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { tempDir } from "../helpers.js";

/** git in `cwd`; its standard output, trimmed (throws when git fails). */
export const git = async (cwd: string, ...args: string[]): Promise<string> =>
  (await execa("git", args, { cwd })).stdout.trim();

const IDENTITY = [
  ["user.name", "Test"],
  ["user.email", "test@example.com"],
  ["commit.gpgsign", "false"],
] as const;

/** A new git repository at `dir` (made if missing) on branch main, with an identity and no signing: tests commit. */
export async function initRepo(dir: string): Promise<void> {
  await execa("git", ["init", "--quiet", "-b", "main", dir]);
  for (const [key, value] of IDENTITY) await git(dir, "config", key, value);
}

/** A new repository (initRepo) at `dir` whose remote origin is `url` (where --init takes repoURL from). */
export async function initRepoWithOrigin(dir: string, url: string): Promise<void> {
  await initRepo(dir);
  await git(dir, "remote", "add", "origin", url);
}

/** Stages everything in `dir` and commits it with `message`. */
export async function commitAll(dir: string, message: string): Promise<void> {
  await git(dir, "add", "--all");
  await git(dir, "commit", "--quiet", "-m", message);
}

/** The arguments of `new-cluster` for the cluster `name` in `region`, then `extra` (e.g. "--yes"). */
export const newClusterArgs = (name: string, region: string, ...extra: string[]): string[] => [
  "new-cluster",
  "--name",
  name,
  "--region",
  region,
  ...extra,
];

/** The flags that give a new cluster its own images (where CAPA publishes none, new-cluster refuses without). */
export const OWN_IMAGES = ["--image-lookup-org", "123456789012"] as const;

/** capi-gitops.yaml for Argo CD on branch main of https://git.example.com/platform/capi.git. */
export const ARGO_CONFIG =
  "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\n" +
  "repoURL: https://git.example.com/platform/capi.git\nbranch: main\ngitops: argocd\n";

/** A new repository (initRepo) at `<temporary dir>/repo` with capi-gitops.yaml `config`; `cleanup` removes it all. */
export async function configuredRepo(
  prefix: string,
  config = ARGO_CONFIG,
): Promise<{ repo: string; cleanup: () => Promise<void> }> {
  const t = await tempDir(prefix);
  const repo = path.join(t.dir, "repo");
  await initRepo(repo);
  await writeFile(path.join(repo, "capi-gitops.yaml"), config);
  return { repo, cleanup: t.cleanup };
}
