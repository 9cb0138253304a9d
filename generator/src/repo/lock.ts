/**
 * One writer at a time per repository: commands that write take `.capi-gitops.lock` (created exclusively, holding
 * the owner's pid). A lock whose process is gone (a crash, SIGKILL) is taken over. Waiting is bounded.
 */
import { hostname } from "node:os";
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ToolError } from "../errors.js";
import { recoverTree } from "./write.js";

export const LOCK_FILE = ".capi-gitops.lock";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Runs fn holding the repository lock; finishes interrupted writes first (recoverTree). */
export async function withRepoLock<T>(root: string, fn: () => Promise<T>, opts: { timeoutMs?: number; log?: (line: string) => void } = {}): Promise<T> {
  const file = path.join(root, LOCK_FILE);
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const me = `${process.pid} ${hostname()}\n`;
  for (;;) {
    try {
      await writeFile(file, me, { flag: "wx" });
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "EEXIST") throw new ToolError(`cannot create ${LOCK_FILE} in ${root}: ${(e as Error).message} — is the repository writable?`);
      const [pidText, host] = (await readFile(file, "utf8").catch(() => "")).trim().split(/\s+/);
      const pid = Number(pidText);
      if (host === hostname() && Number.isInteger(pid) && pid > 0 && !alive(pid)) {
        await rm(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new ToolError(`another capi-gitops command is writing this repository (${LOCK_FILE}: pid ${pidText ?? "?"} on ${host ?? "?"}); try again when it is done`);
      await sleep(50 + Math.floor(Math.random() * 100));
    }
  }
  try {
    for (const line of await recoverTree(root)) opts.log?.(`recovered an interrupted write: ${line}`);
    return await fn();
  } finally {
    await rm(file, { force: true });
  }
}
