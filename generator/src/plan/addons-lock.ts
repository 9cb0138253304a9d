/**
 * The add-on lock (addons.lock.json beside versions.json, written by `npm run addons`): the sha256 of every file
 * under addons/ and of the versions.json "addons" pins they were hydrated from. addons/ is copied into every
 * repository and its payloads are applied to every workload cluster, so its expected content must not be read from
 * addons/ itself: validate (validate/drift.ts) and generate check both the tool's store and the repository's addons/
 * against this lock, and a hand-edited payload is an error naming the file. Pure: contents in, findings out.
 */
import { createHash } from "node:crypto";
import stableStringify from "fast-json-stable-stringify";
import type { Finding } from "../core/findings.js";
import type { AddonLock, AddonPins } from "../pins/versions.js";

/** The lock's file name, beside versions.json in the tool's checkout. */
export const ADDONS_LOCK_FILE = "addons.lock.json";

const sha = (text: string): string => createHash("sha256").update(text).digest("hex");

/** Digest of the "addons" pins (canonical JSON): a lock from other pins is stale. */
export const pinsDigest = (pins: AddonPins): string => sha(stableStringify(pins));

/** The lock for these pins and hydrated files (`addons/…` path → content). */
export function addonLock(pins: AddonPins, files: Readonly<Record<string, string>>): AddonLock {
  return {
    $comment: [
      "Written by `npm run addons`: the sha256 of every file it wrote under addons/ and of the versions.json",
      '"addons" pins it rendered. validate and generate refuse addons/ content that differs (a payload is',
      "applied to every workload cluster). Do not edit by hand.",
    ].join(" "),
    pins: pinsDigest(pins),
    files: Object.fromEntries(
      Object.entries(files)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([p, content]) => [p, sha(content)]),
    ),
  };
}

/** The lock file's text (fixed key order, one file per line). */
export const addonLockText = (lock: AddonLock): string => `${JSON.stringify(lock, null, 2)}\n`;

export interface LockCheck {
  /** What is checked, for messages: "the repository's" or "the tool checkout's (…)". */
  whose: string;
  /** Its files under addons/, keyed `addons/…`, each with the path findings name it by. */
  files: Readonly<Record<string, { file: string; content: string }>>;
  /** Whether a file the lock pins but `files` lacks is an error here (the tool's store), or drift's business. */
  complete: boolean;
}

const HOW =
  "addons/ is written only by `npm run addons` from the pins in versions.json: " +
  "restore the file from Git or re-run `npm run addons`";

/**
 * Findings for addons/ content that the lock does not pin: a changed file, a file the lock does not know, a pinned
 * file missing (when `complete`), a lock for other pins, no lock.
 */
export function addonLockFindings(
  lock: AddonLock | undefined,
  pins: AddonPins,
  checks: readonly LockCheck[],
): Finding[] {
  const error = (file: string, message: string, path?: string): Finding => ({
    file,
    ...(path ? { path } : {}),
    rule: "addons-integrity",
    severity: "error",
    message,
  });
  if (!lock)
    return [
      error(
        ADDONS_LOCK_FILE,
        "is missing or unreadable in the tool's checkout, so addons/ cannot be checked; " + "run `npm run addons`",
      ),
    ];
  const findings: Finding[] = [];
  if (lock.pins !== pinsDigest(pins))
    findings.push(
      error(
        "versions.json",
        `the add-on pins changed since \`npm run addons\` wrote ${ADDONS_LOCK_FILE}; ` +
          `run \`npm run addons\` and commit addons/ and ${ADDONS_LOCK_FILE}`,
        "addons",
      ),
    );
  for (const check of checks) {
    const entries = Object.entries(check.files).sort(([a], [b]) => (a < b ? -1 : 1));
    for (const [key, { file, content }] of entries) {
      const want = lock.files[key];
      const found = sha(content);
      if (want === undefined)
        findings.push(error(file, `${check.whose} addons/ holds a file ${ADDONS_LOCK_FILE} does not pin; ${HOW}`));
      else if (found !== want) {
        const hashes = `sha256 ${want.slice(0, 12)}…, found ${found.slice(0, 12)}…`;
        const what = `${check.whose} copy differs from the content pinned in ${ADDONS_LOCK_FILE}`;
        findings.push(error(file, `${what} (${hashes}); ${HOW}`));
      }
    }
    if (check.complete)
      for (const key of Object.keys(lock.files).sort())
        if (!(key in check.files))
          findings.push(error(key, `${check.whose} addons/ lacks this file that ${ADDONS_LOCK_FILE} pins; ${HOW}`));
  }
  return findings;
}
