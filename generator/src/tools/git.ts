/**
 * git, through simple-git: the only module that talks to git. Failures become ToolError with the command and
 * git's message; a directory that is no git repository is reported as such.
 */
import { simpleGit, type SimpleGit } from "simple-git";
import { ToolError } from "../errors.js";

function git(cwd: string): SimpleGit {
  return simpleGit({ baseDir: cwd, binary: "git", maxConcurrentProcesses: 4, timeout: { block: 120_000 } });
}

async function wrap<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    if (/ENOENT|spawn git/.test(msg)) throw new ToolError("git is not installed — install git (Debian: apt-get install git)", what);
    throw new ToolError(`git ${what} failed: ${msg.trim()}`, `git ${what}`, msg);
  }
}

export async function isRepository(cwd: string): Promise<boolean> {
  try {
    return await git(cwd).checkIsRepo();
  } catch {
    return false;
  }
}

/** Repository-relative paths that are staged (index differs from HEAD). */
export async function stagedPaths(cwd: string): Promise<string[]> {
  const out = await wrap("diff --cached --name-only", () => git(cwd).raw(["diff", "--cached", "--name-only", "-z"]));
  return out.split("\0").filter(Boolean);
}

export async function currentBranch(cwd: string): Promise<string> {
  return (await wrap("rev-parse --abbrev-ref HEAD", () => git(cwd).raw(["rev-parse", "--abbrev-ref", "HEAD"]))).trim();
}

export async function branchExists(cwd: string, branch: string): Promise<boolean> {
  const out = await wrap("branch --list", () => git(cwd).raw(["branch", "--list", branch]));
  return out.trim() !== "";
}

export async function hasCommits(cwd: string): Promise<boolean> {
  try {
    await git(cwd).raw(["rev-parse", "--verify", "HEAD"]);
    return true;
  } catch {
    return false;
  }
}

export async function createBranch(cwd: string, branch: string): Promise<void> {
  await wrap(`checkout -b ${branch}`, () => git(cwd).raw(["checkout", "-b", branch]));
}

export async function checkout(cwd: string, ref: string): Promise<void> {
  await wrap(`checkout ${ref}`, () => git(cwd).raw(["checkout", ref]));
}

export async function deleteBranch(cwd: string, branch: string): Promise<void> {
  await wrap(`branch -D ${branch}`, () => git(cwd).raw(["branch", "-D", branch]));
}

/** Stages exactly these paths (additions and deletions) and commits them; returns the new commit id. */
export async function commitPaths(cwd: string, paths: readonly string[], message: string): Promise<string> {
  await wrap("add", () => git(cwd).raw(["add", "--all", "--", ...paths]));
  await wrap("commit", () => git(cwd).raw(["commit", "-m", message, "--", ...paths]));
  return (await wrap("rev-parse HEAD", () => git(cwd).raw(["rev-parse", "HEAD"]))).trim();
}

export async function push(cwd: string, remote: string, branch: string): Promise<void> {
  await wrap(`push ${remote} ${branch}`, () => git(cwd).raw(["push", "--set-upstream", remote, `${branch}:${branch}`]));
}

export async function remoteExists(cwd: string, remote: string): Promise<boolean> {
  const remotes = await wrap("remote", () => git(cwd).getRemotes());
  return remotes.some((r) => r.name === remote);
}
