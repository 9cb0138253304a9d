/**
 * Runs once before the test files (vitest globalSetup): one validate cache folder for the whole run, and one folder
 * for the run's temporary files, both removed at the end.
 *
 * - The cache: every file uses it (setup.ts), so a program's result for the same input — the add-on payloads and
 *   the management charts every temporary repository carries — is computed once per run, not once per repository
 *   (render/cache.ts keeps such results for every repository). No test reads the user's ~/.cache/capi-gitops; a test
 *   that needs a fresh cache sets its own (cache.test.ts, shard.test.ts).
 * - The temporary files (TMPDIR, read by os.tmpdir() in the tests and the code they run, and by every child
 *   process): in memory (/dev/shm) when the machine has it writable, else the system's. The tests write and remove
 *   tens of thousands of small files (a repository copy per corpus case, temporary repositories, worktrees); on the
 *   2-core machine's disk each file made or removed cost ≈ 0.3–0.6 ms of system time, in memory a tenth of that.
 *   Every folder a test makes is still its own (mkdtemp), with the same modes, links and mounts as on a disk.
 */
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    cacheRoot: string;
    tmpRoot: string;
  }
}

/** The in-memory file system, when it is a writable folder. */
const MEMORY_TMP = "/dev/shm";

function tmpBase(): string {
  try {
    if (!statSync(MEMORY_TMP).isDirectory()) return os.tmpdir();
    accessSync(MEMORY_TMP, constants.W_OK);
    return MEMORY_TMP;
  } catch {
    return os.tmpdir();
  }
}

export default function setup(project: TestProject): () => void {
  const tmp = mkdtempSync(path.join(tmpBase(), "capi-gitops-test-tmp-"));
  // Like /tmp (sticky, open to every user): the tests that run the CLI as an unprivileged user reach their folders.
  chmodSync(tmp, 0o1777);
  const cache = mkdtempSync(path.join(tmp, "cache-"));
  project.provide("cacheRoot", cache);
  project.provide("tmpRoot", tmp);
  process.env.TMPDIR = tmp;
  return () => rmSync(tmp, { recursive: true, force: true });
}
