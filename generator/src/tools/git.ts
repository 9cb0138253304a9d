/**
 * git, through simple-git: the only module that talks to git. Failures become ToolError with the command and
 * git's message; a directory that is no git repository is reported as such.
 */
import { simpleGit, type SimpleGit } from "simple-git";
import { messageOf, ToolError } from "../core/errors.js";

function git(cwd: string): SimpleGit {
  return simpleGit({ baseDir: cwd, binary: "git", maxConcurrentProcesses: 4, timeout: { block: 120_000 } });
}

async function wrap<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const msg = messageOf(e);
    if (/ENOENT|spawn git/.test(msg))
      throw new ToolError("git is not installed — install git (Debian: apt-get install git)", what);
    throw new ToolError(`git ${what} failed: ${msg.trim()}`, `git ${what}`, msg);
  }
}

export async function isRepository(cwd: string): Promise<boolean> {
  try {
    return await git(cwd).checkIsRepo();
  } catch (e) {
    const msg = e instanceof Error ? e.message : "";
    if (/ENOENT|spawn git/.test(msg))
      throw new ToolError("git is not installed — install git (Debian: apt-get install git)", "git rev-parse");
    // A repository owned by another user is one, but git refuses to read it: say so (and git's fix), never "not a
    // git repository" — remove-cluster would advise --force for a folder whose history is in fact there.
    if (/dubious ownership/.test(msg))
      throw new ToolError(
        `git refuses ${cwd}: it is a git repository owned by another user ` +
          `("detected dubious ownership"); run git as its owner, or trust ` +
          `it with \`git config --global --add safe.directory ${cwd}\``,
        "git rev-parse",
        msg,
      );
    return false;
  }
}

/** Repository-relative paths that are staged (index differs from HEAD). */
export async function stagedPaths(cwd: string): Promise<string[]> {
  const out = await wrap("diff --cached --name-only", () => git(cwd).raw(["diff", "--cached", "--name-only", "-z"]));
  return out.split("\0").filter(Boolean);
}

/**
 * Whether git can name the author and committer of a commit here, resolved as `git commit` would (config, environment,
 * user.useConfigOnly, auto-detection): `git var GIT_AUTHOR_IDENT` / `GIT_COMMITTER_IDENT` fail exactly when it cannot.
 * Returns git's complaint, or undefined when both are known.
 */
export async function identityProblem(cwd: string): Promise<string | undefined> {
  for (const v of ["GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"]) {
    try {
      await git(cwd).raw(["var", v]);
    } catch (e) {
      const msg = messageOf(e);
      if (/ENOENT|spawn git/.test(msg))
        throw new ToolError("git is not installed — install git (Debian: apt-get install git)", "git var");
      return (
        msg
          .split("\n")
          .map((l) => l.trim())
          .filter((l) => /^fatal:|unable|identity/i.test(l))
          .join(" ") || msg.trim()
      );
    }
  }
  return undefined;
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

/** A new repository at `cwd` on `branch`, committing as `author` (kept in the repository's own config). */
export async function initRepository(
  cwd: string,
  branch: string,
  author: { name: string; email: string },
): Promise<void> {
  await wrap("init", () => git(cwd).raw(["init", "-q", "-b", branch]));
  await wrap("config user.name", () => git(cwd).raw(["config", "user.name", author.name]));
  await wrap("config user.email", () => git(cwd).raw(["config", "user.email", author.email]));
}

/** Stages exactly these paths (additions and deletions) and commits them; returns the new commit id. */
export async function commitPaths(cwd: string, paths: readonly string[], message: string): Promise<string> {
  await wrap("add", () => git(cwd).raw(["add", "--all", "--", ...paths]));
  await wrap("commit", () => git(cwd).raw(["commit", "-m", message, "--", ...paths]));
  return (await wrap("rev-parse HEAD", () => git(cwd).raw(["rev-parse", "HEAD"]))).trim();
}

/** Puts the index entries of `paths` back to HEAD's (undoes a `git add` of them). */
export async function unstage(cwd: string, paths: readonly string[]): Promise<void> {
  await wrap("reset", () => git(cwd).raw(["reset", "-q", "--", ...paths]));
}

export async function push(cwd: string, remote: string, branch: string): Promise<void> {
  await wrap(`push ${remote} ${branch}`, () => git(cwd).raw(["push", "--set-upstream", remote, `${branch}:${branch}`]));
}

export async function remoteExists(cwd: string, remote: string): Promise<boolean> {
  const remotes = await wrap("remote", () => git(cwd).getRemotes());
  return remotes.some((r) => r.name === remote);
}

/** The URL of a remote (`git remote get-url`), or undefined outside a git repository or without that remote. */
export async function remoteUrl(cwd: string, remote: string): Promise<string | undefined> {
  if (!(await isRepository(cwd)) || !(await remoteExists(cwd, remote))) return undefined;
  const url = (await wrap("remote get-url", () => git(cwd).raw(["remote", "get-url", remote]))).trim();
  return url || undefined;
}

/** A revision given by a user must not be read as an option by git. */
function checkRef(ref: string): void {
  if (ref === "" || ref.startsWith("-") || /[\0\n]/.test(ref))
    throw new ToolError(`"${ref}" is not a git revision`, "rev-parse");
}

/** The commit a revision names (`git rev-parse --verify <ref>^{commit}`). */
export async function revParse(cwd: string, ref: string): Promise<string> {
  checkRef(ref);
  const out = (
    await wrap(`rev-parse --verify ${ref}`, () => git(cwd).raw(["rev-parse", "--verify", `${ref}^{commit}`]))
  ).trim();
  if (!/^[0-9a-f]{40,64}$/.test(out))
    throw new ToolError(`git rev-parse --verify ${ref} failed: "${ref}" names no commit`, "rev-parse");
  return out;
}

/** The path of cwd inside its repository ("" at the top, else "sub/dir/"). */
export async function showPrefix(cwd: string): Promise<string> {
  return (await wrap("rev-parse --show-prefix", () => git(cwd).raw(["rev-parse", "--show-prefix"]))).trim();
}

/**
 * Paths under cwd (relative to it) that differ between `ref` and the working tree: committed, staged and unstaged
 * changes of tracked files. Renames appear as a deletion and an addition (both paths).
 */
export async function changedSince(cwd: string, ref: string): Promise<string[]> {
  checkRef(ref);
  const out = await wrap(`diff --name-only ${ref}`, () =>
    git(cwd).raw(["diff", "--name-only", "--no-renames", "--relative", "-z", ref, "--"]),
  );
  return out.split("\0").filter(Boolean);
}

/** A file's text at `ref` (`rel` relative to cwd), or undefined when the file is not there at that revision. */
export async function fileAt(cwd: string, ref: string, rel: string): Promise<string | undefined> {
  checkRef(ref);
  try {
    return await git(cwd).raw(["show", `${ref}:./${rel}`]);
  } catch {
    return undefined;
  }
}

/** Tracked files and untracked ones .gitignore does not exclude, under cwd (relative to it), sorted. */
export async function listedPaths(cwd: string): Promise<string[]> {
  const out = await wrap("ls-files --cached --others --exclude-standard", () =>
    git(cwd).raw(["ls-files", "--cached", "--others", "--exclude-standard", "-z"]),
  );
  return [...new Set(out.split("\0").filter(Boolean))].sort();
}

/** Untracked files under cwd (relative to it) that .gitignore does not exclude. */
export async function untrackedPaths(cwd: string): Promise<string[]> {
  const out = await wrap("ls-files --others --exclude-standard", () =>
    git(cwd).raw(["ls-files", "--others", "--exclude-standard", "-z"]),
  );
  return out.split("\0").filter(Boolean);
}

/** Files of `ref` under `dir` (both relative to cwd). */
export async function filesAt(cwd: string, ref: string, dir: string): Promise<string[]> {
  checkRef(ref);
  const out = await wrap(`ls-tree ${ref} ${dir}`, () =>
    git(cwd).raw(["ls-tree", "-r", "--name-only", "-z", ref, "--", dir]),
  );
  return out.split("\0").filter(Boolean);
}

/** `git worktree add --detach <dir> <ref>`: a checkout of ref beside the working tree. */
export async function addWorktree(cwd: string, dir: string, ref: string): Promise<void> {
  checkRef(ref);
  await wrap(`worktree add --detach ${ref}`, () => git(cwd).raw(["worktree", "add", "--detach", "--quiet", dir, ref]));
}

/** `git worktree remove --force <dir>`. */
export async function removeWorktree(cwd: string, dir: string): Promise<void> {
  await wrap("worktree remove", () => git(cwd).raw(["worktree", "remove", "--force", dir]));
}

/** `git worktree prune`: forgets worktrees whose directory is gone. */
export async function pruneWorktrees(cwd: string): Promise<void> {
  await wrap("worktree prune", () => git(cwd).raw(["worktree", "prune"]));
}

/**
 * Paths under `dir` (relative to cwd) with uncommitted changes, untracked or ignored files: what removing it would
 * lose.
 */
export async function uncommittedPaths(cwd: string, dir: string): Promise<string[]> {
  const out = await wrap(`status ${dir}`, () =>
    git(cwd).raw([
      "status",
      "--porcelain=v1",
      "-z",
      "--untracked-files=all",
      "--ignored=matching",
      "--no-renames",
      "--",
      dir,
    ]),
  );
  return out
    .split("\0")
    .filter(Boolean)
    .map((l) => l.slice(3));
}

/**
 * Names of the entries of the directory `dir` (relative to cwd; "" for cwd itself) at `commit`; none when it did not
 * exist. (`git ls-tree` lists paths relative to cwd, and only those under it.)
 */
export async function treeEntries(cwd: string, commit: string, dir: string): Promise<string[]> {
  checkRef(commit);
  const out = await wrap(`ls-tree ${commit} ${dir}`, () =>
    git(cwd).raw(["ls-tree", "--name-only", "-z", commit, ...(dir ? ["--", `${dir}/`] : [])]),
  );
  return out
    .split("\0")
    .filter(Boolean)
    .map((p) => (dir ? p.slice(dir.length + 1) : p));
}

/**
 * Writes the files of `paths` (relative to cwd, which may be a sub-directory of the repository) as they are at
 * `commit` under `dir` (at the same sub-directory): `git restore --source --worktree` with `dir` as the work tree —
 * no index, no registered worktree, nothing of the repository changes. Cheaper than a worktree of the whole tree
 * when only a few of many folders are needed.
 */
export async function checkoutPaths(cwd: string, commit: string, dir: string, paths: readonly string[]): Promise<void> {
  checkRef(commit);
  if (paths.length === 0) return;
  const gitDir = (
    await wrap("rev-parse --absolute-git-dir", () => git(cwd).raw(["rev-parse", "--absolute-git-dir"]))
  ).trim();
  const prefix = await showPrefix(cwd);
  await wrap(`restore --source ${commit}`, () =>
    git(dir).raw([
      "--git-dir",
      gitDir,
      "--work-tree",
      dir,
      "restore",
      "--source",
      commit,
      "--worktree",
      "--",
      ...paths.map((p) => `:(top,literal)${prefix}${p}`),
    ]),
  );
}

/** One commit of `firstParentLog`. */
export interface LogEntry {
  sha: string;
  /** Committer date, ISO 8601. */
  date: string;
  subject: string;
}

/**
 * The commits of `ref`'s first-parent history (what the branch itself went through, merges as one step) that touch
 * any of `paths` (relative to cwd), oldest first; `since` (exclusive) limits it to the commits after that one.
 */
export async function firstParentLog(
  cwd: string,
  ref: string,
  paths: readonly string[],
  since?: string,
): Promise<LogEntry[]> {
  checkRef(ref);
  if (since !== undefined) checkRef(since);
  const range = since === undefined ? ref : `${since}..${ref}`;
  const out = await wrap(`log --first-parent ${range}`, () =>
    git(cwd).raw([
      "log",
      "--first-parent",
      "--reverse",
      "-z",
      "--format=%H%x1f%cI%x1f%s",
      range,
      "--",
      ...paths.map((p) => `:(literal)${p}`),
    ]),
  );
  return out
    .split("\0")
    .filter(Boolean)
    .map((l) => {
      const [sha = "", date = "", subject = ""] = l.replace(/^\n/, "").split("\x1f");
      return { sha, date, subject };
    });
}
