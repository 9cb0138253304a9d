/**
 * The pull-request flow shared by new-cluster and remove-cluster: refuse before anything is written when the git
 * state is not clean enough; then a branch from HEAD, a commit of exactly the change, an optional push.
 */
import { InvalidInputError } from "../core/errors.js";
import type { Finding } from "../core/findings.js";
import * as git from "../tools/git.js";

export interface BranchRequest {
  branch: string;
  /** Remote to push to, or undefined for no push. */
  push?: string;
}

const refuse = (path: string, message: string): Finding => ({ path, rule: "git", severity: "error", message });

/** Checks that must pass before anything is written. */
export async function preflight(cwd: string, req: BranchRequest): Promise<void> {
  const problems: Finding[] = [];
  if (!(await git.isRepository(cwd)))
    throw new InvalidInputError(
      [refuse("--branch", `${cwd} is not a git repository; run git init (or drop --branch)`)],
      "nothing was written",
    );
  if (!(await git.hasCommits(cwd)))
    problems.push(refuse("--branch", "the repository has no commit to branch from; commit once first"));
  const staged = await git.stagedPaths(cwd);
  if (staged.length)
    problems.push(
      refuse(
        "--branch",
        `unrelated staged changes (${staged.slice(0, 5).join(", ")}${staged.length > 5 ? ", …" : ""}); ` +
          `commit or unstage them first, so the branch holds only this change`,
      ),
    );
  const who = await git.identityProblem(cwd);
  if (who)
    problems.push(
      refuse(
        "--branch",
        `git cannot commit without an identity (${who}); set it with git config user.name "Your Name" and ` +
          `git config user.email you@example.com, then run again`,
      ),
    );
  if (await git.branchExists(cwd, req.branch))
    problems.push(refuse("--branch", `branch ${req.branch} already exists; delete it or pick another name`));
  if (req.push !== undefined && !(await git.remoteExists(cwd, req.push)))
    problems.push(refuse("--push", `no git remote named "${req.push}"`));
  if (problems.length) throw new InvalidInputError(problems, "git refuses; nothing was written");
}

/** Commits exactly `paths` on the new branch; called by the writer before its transaction is finished. */
export type CommitHook = (paths: string[], message: string) => Promise<void>;

/**
 * Runs `write` on a new branch. `write` lands its change, then calls the hook it is given to commit exactly `paths`
 * while it can still roll the change back: if the commit fails (a hook, a signing key, …), the paths are unstaged and
 * the error reaches `write`, which undoes what it wrote. On any failure the previous branch is checked out again and
 * the new branch deleted. Returns the commit id.
 */
export async function onBranch(
  cwd: string,
  req: BranchRequest,
  write: (commit: CommitHook) => Promise<void>,
  log: (line: string) => void,
): Promise<string> {
  const previous = await git.currentBranch(cwd);
  await git.createBranch(cwd, req.branch);
  let commit: string | undefined;
  try {
    await write(async (paths, message) => {
      try {
        commit = await git.commitPaths(cwd, paths, message);
      } catch (e) {
        await git.unstage(cwd, paths).catch(() => undefined);
        throw e;
      }
    });
    if (commit === undefined) throw new Error("internal error: the writer did not commit its change");
  } catch (e) {
    await git.checkout(cwd, previous).catch(() => undefined);
    await git.deleteBranch(cwd, req.branch).catch(() => undefined);
    throw e;
  }
  log(`Committed ${commit.slice(0, 12)} on branch ${req.branch}.`);
  // The checkout stays on the new branch (where the change is): say so, and how to go back.
  log(
    `You are now on branch ${req.branch} (it was ` +
      `${previous === "HEAD" ? "a detached HEAD" : previous}); go back with: git checkout ` +
      `${previous === "HEAD" ? "-" : previous}`,
  );
  if (req.push !== undefined) {
    await git.push(cwd, req.push, req.branch);
    log(`Pushed ${req.branch} to ${req.push}.`);
  }
  return commit;
}

/** The hook for a run without --branch: nothing to commit. */
export const noCommit: CommitHook = async () => {};
