/**
 * One writer at a time per repository: commands that write take `.capi-gitops.lock`. The lock is created complete
 * (its content written to a private file first, then hard-linked into place, which fails if a lock exists), so a
 * lock file is never seen empty while its owner writes it. It holds `<pid> <host> <epoch ms> <nonce>`.
 * - held by a live process on this host: wait (bounded), saying at once who holds it;
 * - held by a dead process on this host (a crash, SIGKILL): taken over under `.capi-gitops.lock.takeover` (created
 *   exclusively), re-read there, so two waiters never both remove it and a fresh lock is never removed;
 * - empty, unreadable, or from another host: refused at once, saying who holds it and how to clear it.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { link, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { errnoCode, messageOf, ToolError } from "../core/errors.js";
import { recoverTree } from "./write.js";

export const LOCK_FILE = ".capi-gitops.lock";
const TAKEOVER = `${LOCK_FILE}.takeover`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === "EPERM";
  }
}

interface Holder {
  text: string;
  pid?: number;
  host?: string;
  since?: number;
}

/** The lock's owner as written in it; `since` from the content, else the file's time. */
async function readHolder(file: string): Promise<Holder | undefined> {
  const text = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? undefined : ""));
  if (text === undefined) return undefined;
  const [pidText, host, at] = text.trim().split(/\s+/);
  const pid = Number(pidText);
  const mtime = await stat(file).then(
    (s) => s.mtimeMs,
    () => undefined,
  );
  return {
    text,
    pid: Number.isInteger(pid) && pid > 0 ? pid : undefined,
    host: host || undefined,
    since: Number(at) > 0 ? Number(at) : mtime,
  };
}

const age = (since?: number) => {
  if (since === undefined) return "of unknown age";
  const s = Math.max(0, Math.round((Date.now() - since) / 1000));
  return s < 120
    ? `taken ${s}s ago`
    : s < 7200
      ? `taken ${Math.round(s / 60)} min ago`
      : `taken ${Math.round(s / 3600)} h ago`;
};
const describe = (h: Holder) => `pid ${h.pid ?? "?"} on ${h.host ?? "an unknown host"}, ${age(h.since)}`;

/** Creates `file` holding `content` only if it does not exist (EEXIST otherwise); never visible half-written. */
async function createExclusive(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString("hex")}`;
  await writeFile(tmp, content, { flag: "wx" });
  try {
    await link(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Removes the dead owner's lock if it is still exactly `dead`; false when another waiter is taking it over. */
async function takeOver(root: string, file: string, dead: Holder): Promise<boolean> {
  const guard = path.join(root, TAKEOVER);
  try {
    await createExclusive(guard, `${process.pid} ${hostname()} ${Date.now()}\n`);
  } catch (e) {
    if (errnoCode(e) !== "EEXIST") throw e;
    const g = await readHolder(guard);
    // A takeover takes microseconds; one left behind means a process died inside it.
    if (
      g &&
      g.host === hostname() &&
      g.pid !== undefined &&
      !alive(g.pid) &&
      Date.now() - (g.since ?? Date.now()) > 5_000
    )
      throw new ToolError(
        `a stale ${TAKEOVER} (${describe(g)}, no longer running) blocks taking ` +
          `over ${LOCK_FILE}; if no capi-gitops command is running, remove both: rm ${guard} ${file}`,
      );
    return false;
  }
  try {
    const now = await readHolder(file);
    if (now?.text === dead.text) await rm(file, { force: true });
    return true;
  } finally {
    await rm(guard, { force: true });
  }
}

/** Runs fn holding the repository lock; finishes interrupted writes first (recoverTree). */
export async function withRepoLock<T>(
  root: string,
  fn: () => Promise<T>,
  opts: { timeoutMs?: number; log?: (line: string) => void } = {},
): Promise<T> {
  const file = path.join(root, LOCK_FILE);
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const me = `${process.pid} ${hostname()} ${Date.now()} ${randomBytes(4).toString("hex")}\n`;
  const clear = `if no capi-gitops command is running, remove it: rm ${file}`;
  let told = "";
  for (;;) {
    try {
      await createExclusive(file, me);
      break;
    } catch (e) {
      if (errnoCode(e) !== "EEXIST")
        throw new ToolError(`cannot create ${LOCK_FILE} in ${root}: ${messageOf(e)} — is the repository writable?`);
      const h = await readHolder(file);
      if (!h) continue; // released meanwhile
      if (h.pid === undefined || h.host === undefined)
        throw new ToolError(
          `${file} is ` +
            `${h.text.trim() === "" ? "empty" : `not a lock this tool wrote ("${h.text.trim().slice(0, 60)}")`} ` +
            `(${age(h.since)}); ${clear}`,
        );
      if (h.host !== hostname())
        throw new ToolError(
          `${file} is held by ${describe(h)} (another machine; this is ${hostname()}); ` +
            `if no capi-gitops command is running there, remove it: rm ${file}`,
        );
      if (!alive(h.pid)) {
        if (await takeOver(root, file, h))
          opts.log?.(`took over ${LOCK_FILE} from ${describe(h)}, which is no longer running`);
        else await sleep(20);
        continue;
      }
      if (told !== h.text) {
        opts.log?.(`waiting for ${LOCK_FILE}: held by ${describe(h)}; ${clear}`);
        told = h.text;
      }
      if (Date.now() > deadline)
        throw new ToolError(
          `another capi-gitops command is writing this repository: ${LOCK_FILE} ` +
            `is held by ${describe(h)}; try again when it is done, or ${clear}`,
        );
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
