/**
 * The kustomization dependency walk: which files and directories a `kustomize build` reads, found by following
 * kustomization files through resources, components, patches and the other file fields. Pure (the caller says how
 * a directory's kustomization file is found and read), so `repo/affected.ts` (which clusters a change touches)
 * and `render/cache.ts` (what a cached render depends on) walk the same way and are tested without disk.
 */
import path from "node:path";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { isRecord } from "../k8s/object.js";

/** The names kustomize accepts for a kustomization file, in its order of preference. */
export const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"] as const;

/**
 * Kustomization fields whose file references `kustomizationRefs` knows, or that reference nothing: a build whose
 * kustomizations use only these reads nothing the walk cannot see.
 */
export const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  "apiVersion",
  "kind",
  "metadata",
  "resources",
  "bases",
  "components",
  "namespace",
  "namePrefix",
  "nameSuffix",
  "commonLabels",
  "labels",
  "commonAnnotations",
  "patches",
  "patchesJson6902",
  "patchesStrategicMerge",
  "replacements",
  "images",
  "replicas",
  "configMapGenerator",
  "secretGenerator",
  "generatorOptions",
  "configurations",
  "crds",
  "openapi",
  "buildMetadata",
  "sortOptions",
  "vars",
]);

/**
 * A remote target — not part of this repository: a URL (`https://`, `ssh://`, `file://`, …), go-getter's `git::`,
 * kustomize's `gh:` shorthand, an scp-like `user@host:path`, a `?ref=`/`?version=` query, or a path on a known
 * git host (`github.com/...`) — the forms kustomize's remote loader (api/internal/git/repospec.go) accepts.
 */
export function isRemote(ref: string): boolean {
  return (
    /^[a-z][a-z0-9+.-]*:\/\//i.test(ref) ||
    /^(git::|gh:)/i.test(ref) ||
    /^[\w.-]+@[\w.-]+:/.test(ref) ||
    /\?(ref|version|submodules|timeout)=/.test(ref) ||
    /^(github\.com|gitlab\.com|bitbucket\.org|dev\.azure\.com)\//i.test(ref)
  );
}

/**
 * File-reference keys inside a generator/transformer/validator config, inline or in a file the kustomization lists
 * (e.g. a PatchTransformer's `path`, a ConfigMapGenerator's `files`), and a HelmChartInflationGenerator's `repo`.
 */
const INLINE_REF_KEYS = new Set(["path", "paths", "files", "envs", "env", "resources", "bases", "components", "repo"]);

/**
 * The references a plugin config (YAML text, one or more documents) holds under INLINE_REF_KEYS; none when it does
 * not parse.
 */
export function inlineRefs(text: string): string[] {
  let docs: unknown[];
  try {
    const parsed = parseAllDocuments(text);
    if (!Array.isArray(parsed) || parsed.some((d) => d.errors.length)) return [];
    docs = parsed.map((d) => {
      const js: unknown = d.toJS();
      return js;
    });
  } catch {
    return [];
  }
  const out: string[] = [];
  const walk = (v: unknown, key?: string): void => {
    if (typeof v === "string") {
      if (key !== undefined && INLINE_REF_KEYS.has(key))
        out.push(v.includes("=") && key === "files" ? v.slice(v.indexOf("=") + 1) : v);
    } else if (Array.isArray(v)) v.forEach((x) => walk(x, key));
    else if (isRecord(v)) for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  docs.forEach((d) => walk(d));
  return out;
}

/** `dir` + `ref` as a normalized repository-relative path; undefined when it leaves the repository or is absolute. */
export function resolveRef(dir: string, ref: string): string | undefined {
  if (path.posix.isAbsolute(ref)) return undefined;
  const joined = path.posix.normalize(path.posix.join(dir, ref)).replace(/\/+$/, "");
  if (joined === ".." || joined.startsWith("../")) return undefined;
  return joined === "." ? "" : joined;
}

/** A kustomization field that takes one string or a list of them, as strings (anything else dropped). */
export const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : typeof v === "string" ? [v] : [];
const objects = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter(isRecord) : []);
/**
 * An inline document in a list that also takes paths (patchesStrategicMerge, transformers): it has a line break or a
 * colon-space.
 */
const isInline = (s: string): boolean => /\n/.test(s) || /:\s/.test(s);

/** The generator/transformer/validator entries of a kustomization that are paths (a config file or a directory). */
const pluginRefs = (k: Record<string, unknown>): string[] =>
  ["generators", "transformers", "validators"].flatMap((key) => strings(k[key]).filter((s) => !isInline(s)));

/**
 * The references of one kustomization document, split into those that may be kustomization directories
 * (resources, bases, components, generators, transformers, validators) and those that are always files.
 */
export function kustomizationRefs(doc: unknown): { dirsOrFiles: string[]; files: string[]; remotes: string[] } {
  if (!isRecord(doc)) return { dirsOrFiles: [], files: [], remotes: [] };
  const k = doc;
  const dirsOrFiles = [...strings(k.resources), ...strings(k.bases), ...strings(k.components), ...pluginRefs(k)];
  const files: string[] = [];
  for (const key of ["patches", "patchesJson6902", "replacements"])
    for (const p of objects(k[key])) files.push(...strings(p.path));
  files.push(...strings(k.patchesStrategicMerge).filter((s) => !isInline(s)));
  for (const key of ["configurations", "crds"]) files.push(...strings(k[key]));
  if (isRecord(k.openapi)) files.push(...strings(k.openapi.path));
  for (const key of ["configMapGenerator", "secretGenerator"])
    for (const g of objects(k[key])) {
      // `files` entries are `path` or `key=path`.
      for (const f of strings(g.files)) files.push(f.includes("=") ? f.slice(f.indexOf("=") + 1) : f);
      files.push(...strings(g.envs), ...strings(g.env));
    }
  const inline = ["generators", "transformers", "validators"].flatMap((key) =>
    strings(k[key]).filter(isInline).flatMap(inlineRefs),
  );
  // helmCharts: kustomize (with --enable-helm) pulls each chart from its repo while building.
  const charts = objects(k.helmCharts).flatMap((h) => strings(h.repo));
  const remotes = [...new Set([...dirsOrFiles, ...files, ...inline, ...charts].filter(isRemote))];
  return { dirsOrFiles: dirsOrFiles.filter((r) => !isRemote(r)), files: files.filter((r) => !isRemote(r)), remotes };
}

/** How the walk sees the repository, and what it tells the caller. */
export interface WalkHooks {
  /** The kustomization file of a directory (repository-relative, "" is the root) and its text, if it has one. */
  kustomizationAt(dir: string): { file: string; text: string } | undefined;
  /** A kustomization directory entered, with its parsed document (`parsed: false`: its YAML does not parse). */
  enter?(dir: string, file: string, doc: unknown, parsed: boolean): void;
  /** A file the build reads (a reference that is no kustomization directory). */
  file(rel: string): void;
  /** A reference that leaves the repository or is absolute, in kustomization file `file`. */
  escape(file: string, ref: string): void;
  /** A remote reference (isRemote) in kustomization file `file`: kustomize would fetch it (git, HTTP). */
  remote?(file: string, ref: string): void;
  /**
   * Reads a file (repository-relative): a generator/transformer/validator config the kustomization lists by path is
   * read for the files it references (relative to the kustomization's directory) and its remote references, which
   * are reported on the config file. Without it those configs are files like any other.
   */
  readFile?(rel: string): string | undefined;
}

/** Makes a parsed YAML document (plain objects, arrays, scalars) read-only, all the way down. */
function deepFreeze(v: unknown): unknown {
  if (typeof v === "object" && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/** Characters of kustomization text whose parse is kept (see parseKustomization). */
const PARSED_BUDGET = 1_000_000;
const parsed = new Map<string, { doc: unknown } | undefined>();
let parsedChars = 0;

/**
 * A kustomization text parsed (undefined: it does not parse), the document frozen. The parse is kept per text for
 * the process: every cluster of a fleet enters the same base/, overlays/ and addons/ kustomizations, and validate
 * walks each cluster more than once (the cache key, remote and escaping references), so each shared text is parsed
 * once instead of once per cluster and walk. Keyed by the text itself, so an edited file is parsed again; the least
 * recently used parses leave first once PARSED_BUDGET characters are kept.
 */
export function parseKustomization(text: string): { doc: unknown } | undefined {
  if (parsed.has(text)) {
    const hit = parsed.get(text);
    parsed.delete(text);
    parsed.set(text, hit);
    return hit;
  }
  let out: { doc: unknown } | undefined;
  try {
    out = { doc: deepFreeze(parseYaml(text)) };
  } catch {
    out = undefined;
  }
  if (text.length <= PARSED_BUDGET) {
    parsed.set(text, out);
    parsedChars += text.length;
    for (const old of parsed.keys()) {
      if (parsedChars <= PARSED_BUDGET) break;
      parsed.delete(old);
      parsedChars -= old.length;
    }
  }
  return out;
}

/**
 * Follows the kustomization of `root` (repository-relative) recursively; returns whether `root` has a
 * kustomization file. Each directory is entered once; remote references are skipped.
 */
export function walkKustomization(root: string, hooks: WalkHooks): boolean {
  const entered = new Set<string>();
  const visit = (dir: string): boolean => {
    const k = hooks.kustomizationAt(dir);
    if (!k) return false;
    if (entered.has(dir)) return true;
    entered.add(dir);
    const parsedDoc = parseKustomization(k.text);
    if (parsedDoc === undefined) {
      hooks.enter?.(dir, k.file, undefined, false);
      return true;
    }
    const { doc } = parsedDoc;
    hooks.enter?.(dir, k.file, doc, true);
    const refs = kustomizationRefs(doc);
    for (const r of refs.remotes) hooks.remote?.(k.file, r);
    for (const r of refs.dirsOrFiles) {
      const p = resolveRef(dir, r);
      if (p === undefined) hooks.escape(k.file, r);
      else if (!visit(p)) {
        hooks.file(p);
        const text = isRecord(doc) && pluginRefs(doc).includes(r) ? hooks.readFile?.(p) : undefined;
        if (text !== undefined)
          for (const inner of inlineRefs(text)) {
            if (isRemote(inner)) hooks.remote?.(p, inner);
            else {
              const q = resolveRef(dir, inner);
              if (q === undefined) hooks.escape(p, inner);
              else hooks.file(q);
            }
          }
      }
    }
    for (const r of refs.files) {
      const p = resolveRef(dir, r);
      if (p === undefined) hooks.escape(k.file, r);
      else hooks.file(p);
    }
    return true;
  };
  return visit(root);
}

/** Reads a repository-relative file; undefined when it does not exist or is no file. */
export type ReadFile = (relPath: string) => string | undefined;

export interface Dependencies {
  /** Repository-relative files the build reads (kustomization files included); referenced but missing ones too. */
  files: string[];
  /** Kustomization roots the build enters; kustomize lists each to find its kustomization file. */
  dirs: string[];
  /** References that leave the repository or are absolute paths: what the build would read from outside Git. */
  escapes: { file: string; ref: string }[];
  /** Remote references (git, HTTP): what the build would fetch from the network. */
  remotes: { file: string; ref: string }[];
}

/** The kustomization file of a directory found by reading each accepted name in kustomize's order. */
export function kustomizationFileOf(dir: string, readFile: ReadFile): { file: string; text: string } | undefined {
  for (const name of KUSTOMIZATION_FILES) {
    const file = dir === "" ? name : `${dir}/${name}`;
    const text = readFile(file);
    if (text !== undefined) return { file, text };
  }
  return undefined;
}

/**
 * Everything the kustomize build of `clusterDir` (repository-relative) reads, following kustomization files
 * recursively. Unparseable kustomization files still count (a change to them changes the build); remote and
 * out-of-repository references are skipped.
 */
export function dependencies(clusterDir: string, readFile: ReadFile): Dependencies {
  const files = new Set<string>();
  const dirs = new Set<string>();
  const escapes: { file: string; ref: string }[] = [];
  const remotes: { file: string; ref: string }[] = [];
  const root = resolveRef("", clusterDir) ?? clusterDir;
  const found = walkKustomization(root, {
    kustomizationAt: (dir) => kustomizationFileOf(dir, readFile),
    enter: (dir, file) => {
      dirs.add(dir);
      files.add(file);
    },
    file: (p) => files.add(p),
    escape: (file, ref) => escapes.push({ file, ref }),
    remote: (file, ref) => remotes.push({ file, ref }),
    readFile,
  });
  if (!found) files.add(`${root}/${KUSTOMIZATION_FILES[0]}`);
  return { files: [...files].sort(), dirs: [...dirs].sort(), escapes, remotes };
}

/** Whether a change to `changed` (a repository-relative file) can change a build with these dependencies. */
export function dependsOn(deps: Dependencies, changed: string): boolean {
  if (deps.files.includes(changed)) return true;
  // A file appearing or disappearing directly in a kustomization root (e.g. a second kustomization file).
  const parent = path.posix.dirname(changed);
  return deps.dirs.includes(parent === "." ? "" : parent);
}
