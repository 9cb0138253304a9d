/**
 * The upstream admission layer of `validate`: every rendered object of the selected clusters goes, in one
 * capi-gitops-admission process for the whole run, through what the management cluster's API server would do on
 * create (strict decode, CRD schema + defaults + CEL, conversion, the CAPI/CAPA webhooks). A denial becomes a
 * finding on the object's cluster and source file, with the field and the upstream message, rule
 * `admission/<stage>`. Results are cached per cluster by the exact input (render/cache.ts, layer "admission").
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Finding } from "../core/findings.js";
import { isAdmissionResult, type Admit, type AdmissionResult } from "../tools/admission.js";
import type { Env } from "../tools/run.js";
import { contentSha, type ValidateCache } from "../render/cache.js";
import { CAPI_GROUPS } from "../k8s/capi.js";
import { groupOf, type K8sObject } from "../k8s/object.js";
import { CLUSTERS_DIR } from "../core/layout.js";
import type { renderClusters } from "../render/render.js";

/** One rendered build: a cluster's objects with the file each came from (when origins are known). */
export interface AdmissionUnit {
  cacheId: string;
  cluster?: string;
  objects: readonly K8sObject[];
  origins: readonly (string | undefined)[];
  fallbackFile: string;
}

/** Whether the layer runs: CAPI_GITOPS_ADMISSION=off|0|false|no switches it off (tests show what it catches). */
export function admissionEnabled(env: Env): boolean {
  return !/^(off|0|false|no)$/i.test(env.CAPI_GITOPS_ADMISSION ?? "");
}

const documentOf = (o: K8sObject): string => JSON.stringify(o);
/** The objects the program admits: CAPI's and CAPA's groups (all `*.cluster.x-k8s.io`). */
const admitted = (o: K8sObject): boolean => CAPI_GROUPS.test(groupOf(o.apiVersion));

/** One result per object of the unit, in object order: the program's for admitted objects, "skipped" for the rest. */
function spread(u: AdmissionUnit, results: readonly AdmissionResult[]): AdmissionResult[] {
  let i = 0;
  return u.objects.map((o) => {
    if (admitted(o)) {
      const r = results[i++];
      if (r === undefined)
        throw new Error(`capi-gitops-admission returned fewer results than ${u.cacheId} has objects`);
      return r;
    }
    return {
      apiVersion: o.apiVersion,
      kind: o.kind,
      namespace: o.metadata?.namespace ?? "",
      name: o.metadata?.name ?? "",
      cluster: "",
      file: "",
      operation: "CREATE",
      allowed: true,
      stage: "skipped",
      messages: [],
    };
  });
}

/**
 * The program's results for each unit (one per object, in object order): cached ones from the cache, the rest from
 * one process over all of them.
 */
export async function admissionResults(
  units: readonly AdmissionUnit[],
  opts: {
    cwd: string;
    admit: Admit;
    cache?: ValidateCache;
    workers?: number;
    /**
     * The previous render (`--changed-since`): objects found in it are admitted as UPDATE (immutable fields, version
     * jumps).
     */
    old?: readonly K8sObject[];
    onProgress?: (stage: string, done: number, total: number) => void;
  },
): Promise<Map<AdmissionUnit, AdmissionResult[]>> {
  const out = new Map<AdmissionUnit, AdmissionResult[]>();
  const todo: { unit: AdmissionUnit; count: number; key: string }[] = [];
  const texts: string[] = []; // the JSON lines of each unit of todo
  const oldText = opts.old?.length ? `${opts.old.filter(admitted).map(documentOf).join("\n")}\n` : undefined;
  // With a previous render the result depends on it too (the whole previous render: an object is matched by identity).
  const oldKey = oldText ? `\nold:${contentSha(oldText)}` : "";
  for (const u of units) {
    // Only the CAPI/CAPA objects go to the program (it has no CRD for anything else and skips it): the add-on
    // ConfigMaps alone are ≈70 KiB per cluster, most of the input otherwise.
    const docs = u.objects.filter(admitted).map(documentOf);
    if (docs.length === 0) continue;
    const text = docs.join("\n");
    const key = contentSha(text + oldKey);
    const cached = opts.cache?.result("admission", u.cacheId, key, isAdmissionResult);
    if (cached && cached.length === docs.length) out.set(u, spread(u, cached));
    else {
      todo.push({ unit: u, count: docs.length, key });
      texts.push(text);
    }
  }
  if (todo.length === 0) return out;
  opts.onProgress?.("admission", 0, todo.length);
  // JSON lines. The units' texts are let go before the program runs, which is when the process tree is largest
  // (at 1000 clusters each copy of the input is ≈ 30 MB).
  const input = `${texts.join("\n")}\n`;
  texts.length = 0;
  let results: AdmissionResult[];
  if (oldText) {
    const tmp = await mkdtemp(path.join(os.tmpdir(), "capi-gitops-admission-"));
    try {
      const oldFile = path.join(tmp, "previous.jsonl");
      await writeFile(oldFile, oldText);
      results = await opts.admit(input, { cwd: opts.cwd, workers: opts.workers, oldFile });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  } else results = await opts.admit(input, { cwd: opts.cwd, workers: opts.workers });
  const total = todo.reduce((n, t) => n + t.count, 0);
  if (results.length !== total)
    throw new Error(`capi-gitops-admission returned ${results.length} results for ${total} objects`);
  let i = 0;
  for (const t of todo) {
    const mine = results.slice(i, i + t.count);
    i += t.count;
    out.set(t.unit, spread(t.unit, mine));
    opts.cache?.storeResult("admission", t.unit.cacheId, t.key, mine);
  }
  opts.onProgress?.("admission", todo.length, todo.length);
  return out;
}

/** Whether any object of the unit was denied (such clusters get their origins, so findings name their files). */
export const denied = (results: readonly AdmissionResult[] | undefined): boolean =>
  results?.some((r) => !r.allowed) ?? false;

/**
 * Denials as findings: cluster, the object's source file, `Kind/name:field`, rule `admission/<stage>`, the
 * upstream message. Objects in `skip` (`label/Kind/name`, already rejected by kubeconform) are not repeated.
 */
export function admissionFindings(
  u: AdmissionUnit & { label: string },
  results: readonly AdmissionResult[],
  skip: ReadonlySet<string> = new Set(),
): Finding[] {
  const findings: Finding[] = [];
  results.forEach((r, i) => {
    const o = u.objects[i];
    // A skipped object (a kind outside CAPI/CAPA) is always allowed.
    if (r.allowed || r.stage === "skipped" || !o || skip.has(`${u.label}/${o.kind}/${o.metadata?.name}`)) return;
    const where = `${o.kind}/${o.metadata?.name}`;
    const messages = r.messages.length ? r.messages : [{ field: "", message: "denied" }];
    for (const m of messages)
      findings.push({
        cluster: u.cluster,
        file: u.origins[i] ?? u.fallbackFile,
        path: m.field ? `${where}:${m.field}` : where,
        rule: `admission/${r.stage}`,
        severity: "error",
        message: m.message,
      });
  });
  return findings;
}

/**
 * The previous render of `clusters` at git `ref`: the `oldObject`s of UPDATE admission. Only what those builds can
 * read is written out, into a temporary folder: every top-level entry of the repository but clusters/, and the
 * clusters' own folders (`git restore --source`, tools/git.ts) — so the cost follows the clusters asked for, not the
 * fleet (a whole worktree of a 1000-cluster repository is ≈14,000 files). Clusters that did not exist or did not
 * build there (e.g. a build reading another cluster's folder) are simply not in it: they are admitted as CREATE.
 */
export async function previousRender(
  root: string,
  ref: string,
  clusters: readonly string[],
  workers: number,
  render: typeof renderClusters,
): Promise<K8sObject[]> {
  if (clusters.length === 0) return [];
  const { checkoutPaths, revParse, showPrefix, treeEntries } = await import("../tools/git.js");
  const commit = await revParse(root, ref);
  const there = new Set(await treeEntries(root, commit, CLUSTERS_DIR));
  const present = clusters.filter((c) => there.has(c));
  if (present.length === 0) return [];
  const top = (await treeEntries(root, commit, "")).filter((e) => e !== CLUSTERS_DIR);
  const tmp = await mkdtemp(path.join(os.tmpdir(), "capi-gitops-previous-"));
  try {
    await checkoutPaths(root, commit, tmp, [...top, ...present.map((c) => `${CLUSTERS_DIR}/${c}`)]);
    const base = path.join(tmp, await showPrefix(root));
    const { rendered } = await render(
      base,
      present.map((name) => ({ name })),
      { workers, origins: false },
    );
    return rendered.flatMap((rc) => rc.objects);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
