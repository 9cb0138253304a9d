/**
 * What an Argo CD AppProject permits, with Argo CD's own semantics (argo-cd v3.5.7,
 * pkg/apis/application/v1alpha1/app_project_types.go and types.go):
 * - IsSourcePermitted: each sourceRepos entry and the source are normalized (util/git NormalizeGitURL) and matched
 *   with gobwas/glob, '/' as separator; a `!pattern` that does not match denies.
 * - isDestinationMatched: server (or name) and namespace both glob-matched (gobwas/glob, no separator) against
 *   one destination; `!` patterns deny.
 * - IsGroupKindNamePermitted: namespaced kinds against namespaceResourceWhitelist (absent = all, empty = none) and
 *   the blacklist; cluster-scoped kinds against clusterResourceWhitelist (empty = none) and the blacklist, with
 *   Go's filepath.Match for group, kind and name.
 * - IsResourcePermitted: a namespaced object's namespace must also be a permitted destination.
 * Pure: no I/O.
 */
import { isRecord } from "../k8s/object.js";

export interface GroupKind {
  group: string;
  kind: string;
  name?: string;
}
export interface AppProjectSpec {
  sourceRepos?: string[];
  destinations?: { server?: string; name?: string; namespace?: string }[];
  clusterResourceWhitelist?: GroupKind[];
  clusterResourceBlacklist?: GroupKind[];
  namespaceResourceWhitelist?: GroupKind[];
  namespaceResourceBlacklist?: GroupKind[];
}

const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : undefined;
const optional = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const groupKinds = (v: unknown): GroupKind[] | undefined =>
  Array.isArray(v)
    ? v.filter(isRecord).map((i) => {
        const name = optional(i.name);
        return {
          group: optional(i.group) ?? "",
          kind: optional(i.kind) ?? "",
          ...(name === undefined ? {} : { name }),
        };
      })
    : undefined;

/** An AppProject's spec as read from a rendered object (fields of another type are left out). */
export function appProjectSpec(spec: unknown): AppProjectSpec {
  if (!isRecord(spec)) return {};
  const out: AppProjectSpec = {};
  const sourceRepos = strings(spec.sourceRepos);
  if (sourceRepos) out.sourceRepos = sourceRepos;
  if (Array.isArray(spec.destinations))
    out.destinations = spec.destinations
      .filter(isRecord)
      .map((d) => ({ server: optional(d.server), name: optional(d.name), namespace: optional(d.namespace) }));
  for (const key of [
    "clusterResourceWhitelist",
    "clusterResourceBlacklist",
    "namespaceResourceWhitelist",
    "namespaceResourceBlacklist",
  ] as const) {
    const list = groupKinds(spec[key]);
    if (list) out[key] = list;
  }
  return out;
}

const escapeRe = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** A character class `[...]` starting at pattern[i]; `negate` is the negation character of the dialect. */
function charClass(pattern: string, i: number, negate: string[]): { re: string; end: number } | undefined {
  const close = pattern.indexOf("]", i + 2);
  if (close < 0) return undefined;
  let body = pattern.slice(i + 1, close);
  let neg = false;
  if (negate.includes(body[0] ?? "")) {
    neg = true;
    body = body.slice(1);
  }
  return { re: `[${neg ? "^" : ""}${body.replace(/\\/g, "\\\\").replace(/\^/g, "\\^")}]`, end: close };
}

/**
 * Compiled patterns, by pattern and separators: a fleet's AppProject lists every cluster's namespace, checked per
 * object.
 */
const compiled = new Map<string, RegExp>();

/**
 * gobwas/glob (what Argo CD's util/glob compiles): `*` (no separator), `**` (anything), `?`, `[…]`, `[!…]`, `{a,b}`,
 * `\x`.
 */

export function gobwasGlob(pattern: string, separators: string[] = []): RegExp {
  const key = `g\0${separators.join("")}\0${pattern}`;
  let re = compiled.get(key);
  if (!re) compiled.set(key, (re = compileGobwasGlob(pattern, separators)));
  return re;
}

function compileGobwasGlob(pattern: string, separators: string[]): RegExp {
  const notSep = separators.length ? `[^${separators.map(escapeRe).join("")}]` : ".";
  let re = "";
  let depth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === "\\" && i + 1 < pattern.length) re += escapeRe(pattern.charAt(++i));
    else if (c === "*") {
      if (pattern[i + 1] === "*") {
        re += ".*";
        i++;
      } else re += `${notSep}*`;
    } else if (c === "?") re += notSep;
    else if (c === "[") {
      const cls = charClass(pattern, i, ["!"]);
      if (!cls) re += "\\[";
      else {
        re += cls.re;
        i = cls.end;
      }
    } else if (c === "{") {
      re += "(?:";
      depth++;
    } else if (c === "}" && depth > 0) {
      re += ")";
      depth--;
    } else if (c === "," && depth > 0) re += "|";
    else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, "s");
}

/**
 * Go's path/filepath.Match (Unix): `*` and `?` never match '/', `[…]` / `[^…]`, `\x`; a malformed pattern matches
 * nothing.
 */
export function filepathMatch(pattern: string, value: string): boolean {
  const key = `f\0${pattern}`;
  let re = compiled.get(key);
  if (!re) compiled.set(key, (re = compileFilepathMatch(pattern)));
  return re.test(value);
}

function compileFilepathMatch(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === "\\" && i + 1 < pattern.length) re += escapeRe(pattern.charAt(++i));
    else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const cls = charClass(pattern, i, ["^"]);
      if (!cls) return /(?!)/; // malformed: matches nothing
      re += cls.re;
      i = cls.end;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, "s");
}

/**
 * Compiled globs, per pattern and separators: a fleet's AppProject lists every cluster's namespace, and each of its
 * Applications is matched against all of them (compiling each time made this quadratic in regex compilations).
 * The RegExps have no `g` flag, so `test` keeps no state between calls.
 */
const compiledGlobs = new Map<string, RegExp>();
function compiledGlob(pattern: string, separators: string[]): RegExp {
  const key = `${separators.join("\0")}\u0001${pattern}`;
  let re = compiledGlobs.get(key);
  if (!re) {
    re = gobwasGlob(pattern, separators);
    compiledGlobs.set(key, re);
  }
  return re;
}

/** Argo CD's globMatch: `!pattern` negates (when allowed), `*` matches everything. */
function globMatch(pattern: string, value: string, allowNegation: boolean, separators: string[] = []): boolean {
  if (allowNegation && pattern.startsWith("!")) return !compiledGlob(pattern.slice(1), separators).test(value);
  if (pattern === "*") return true;
  return compiledGlob(pattern, separators).test(value);
}

/**
 * util/git NormalizeGitURL: lower case, trimmed; scp-like SSH (`git@host:org/repo`) → `git@host/org/repo`;
 * `.git` suffix dropped; the `ssh://` prefix dropped.
 */
export function normalizeGitURL(url: string): string {
  let repo = url.trim().toLowerCase();
  const scpLike = /^[\w.-]+@[\w.-]+:(?!\/\/)/.test(repo) && !/^[a-z][a-z0-9+.-]*:\/\//.test(repo);
  const ssh = repo.startsWith("ssh://") || scpLike;
  if (ssh && !repo.startsWith("ssh://")) repo = `ssh://${repo.replace(":", "/")}`;
  if (repo.endsWith(".git")) repo = repo.slice(0, -4);
  return repo.replace(/^ssh:\/\//, "");
}

export function isSourcePermitted(project: AppProjectSpec, repoURL: string): boolean {
  const src = normalizeGitURL(repoURL);
  let any = false;
  for (const r of project.sourceRepos ?? []) {
    const normalized = r.startsWith("!") ? `!${normalizeGitURL(r.slice(1))}` : normalizeGitURL(r);
    const matched = globMatch(normalized, src, true, ["/"]);
    if (matched) any = true;
    else if (normalized.startsWith("!")) return false;
  }
  return any;
}

export function isDestinationPermitted(
  project: AppProjectSpec,
  dest: { server?: string; name?: string; namespace: string },
): boolean {
  let any = false;
  for (const item of project.destinations ?? []) {
    const nameMatched = !!dest.name && globMatch(item.name ?? "", dest.name, true);
    const serverMatched = !!dest.server && globMatch(item.server ?? "", dest.server, true);
    const nsMatched = globMatch(item.namespace ?? "", dest.namespace, true);
    if ((serverMatched || nameMatched) && nsMatched) any = true;
    else if (
      (!nameMatched && (item.name ?? "").startsWith("!")) ||
      (!serverMatched && (item.server ?? "").startsWith("!") && nsMatched)
    )
      return false;
    else if (!nsMatched && (item.namespace ?? "").startsWith("!") && serverMatched) return false;
  }
  return any;
}

const inList = (gk: GroupKind, list: readonly GroupKind[], named: boolean) =>
  list.some(
    (i) =>
      filepathMatch(i.kind, gk.kind) &&
      filepathMatch(i.group, gk.group) &&
      (!named || !i.name || filepathMatch(i.name, gk.name ?? "")),
  );

export function isGroupKindPermitted(project: AppProjectSpec, gk: GroupKind, namespaced: boolean): boolean {
  if (namespaced) {
    const white = project.namespaceResourceWhitelist;
    const black = project.namespaceResourceBlacklist ?? [];
    const whiteListed = white === undefined || (white.length !== 0 && inList(gk, white, false));
    return whiteListed && !(black.length !== 0 && inList(gk, black, false));
  }
  const white = project.clusterResourceWhitelist ?? [];
  const black = project.clusterResourceBlacklist ?? [];
  return white.length !== 0 && inList(gk, white, true) && !(black.length !== 0 && inList(gk, black, true));
}
