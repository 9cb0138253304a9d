/**
 * Stage 4 of validate: the schema layers over every unit. kubeconform (structure, against schemas/kubeconform:
 * every kind, built-in and CRD) in one process with its own workers; kubectl-validate (the CRDs' CEL rules) for the
 * units marked `cel` (render/units.ts), split over the cores. Results of unchanged builds come from the cache,
 * keyed by the exact bytes given to the program.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Finding } from "../core/findings.js";
import { readUnserved, unservedMessage } from "../schemas/unserved.js";
import { isStoredVerdict, type KubeconformVerdict } from "../tools/kubeconform.js";
import { isKubectlValidateStatus, type KubectlValidateStatus } from "../tools/kubectl-validate.js";
import { contentSha, type ValidateCache } from "../render/cache.js";
import type { Runners } from "../render/runners.js";
import type { Unit } from "../render/units.js";
import { groupOf, isRecord, type K8sObject } from "../k8s/object.js";
import { fillSchemaLocation } from "../schemas/layout.js";
import { SHARED_MIN } from "../core/yaml.js";

/** What kubeconform and kubectl-validate said about one unit (kubeconform lists only the objects it did not accept). */
export interface SchemaResult {
  kubeconform: Omit<KubeconformVerdict, "filename">[];
  cel?: KubectlValidateStatus[];
}

/** Fewest files worth a kubectl-validate process of their own (each process loads every CRD first). */
const CEL_FILES_PER_PROCESS = 40;

/**
 * Whether kubeconform's verdict on a ConfigMap cannot depend on what its data values say: the pinned schema's `data`
 * values are any string (`additionalProperties: {type: string}`, a default at most; no length, pattern or format).
 * Read from the schema kubeconform is given, so a schema that ever constrains them turns the stand-ins off.
 */
function configMapValuesFree(schemaLocation: string): boolean {
  try {
    const schema: unknown = JSON.parse(readFileSync(fillSchemaLocation(schemaLocation, "v1", "ConfigMap"), "utf8"));
    const data = isRecord(schema) && isRecord(schema.properties) ? schema.properties.data : undefined;
    const values = isRecord(data) ? data.additionalProperties : undefined;
    return (
      isRecord(values) && values.type === "string" && Object.keys(values).every((k) => k === "type" || k === "default")
    );
  } catch {
    return false;
  }
}

/**
 * A ConfigMap as kubeconform is given it when `free`: each long data value replaced by a short string naming its
 * length and digest. Every cluster carries the add-on payloads (≈ 0.5 MB of ConfigMap values a cluster): kubeconform
 * parsed them once per cluster to find a string where a string goes, and this process wrote them out, hashed them
 * and let go of them as large strings. What the payloads say is checked as the add-on files' own units
 * (render/units.ts `addonUnits`), as before.
 */
function kubeconformView(o: K8sObject, free: boolean, digestOf: (s: string) => string): K8sObject {
  if (!free || o.apiVersion !== "v1" || o.kind !== "ConfigMap" || !isRecord(o.data)) return o;
  const data = o.data;
  if (!Object.values(data).some((v) => typeof v === "string" && v.length >= SHARED_MIN)) return o;
  const standIn = (v: unknown) =>
    typeof v === "string" && v.length >= SHARED_MIN
      ? `capi-gitops stand-in: ${v.length} characters, sha256 ${digestOf(v)}`
      : v;
  return { ...o, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, standIn(v)])) };
}

/**
 * The API server prunes null fields of custom resources before validating them (unless the schema marks them
 * nullable; see the CRD docs, "Defaulting and Nullable"), and upstream manifests rely on it, e.g. CAPA's templates'
 * `selector: {matchLabels: null}`. The schema layers see the objects as the server would; array items are kept.
 */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== null)
        .map(([k, x]) => [k, dropNulls(x)]),
    );
  return v;
}

export async function schemaResults(
  root: string,
  units: readonly Unit[],
  opts: {
    workers: number;
    skipCel?: boolean;
    cache?: ValidateCache;
    runners: Runners;
    onProgress?: (stage: string, done: number, total: number) => void;
    /**
     * kubeconform and kubectl-validate start once this settled (the admission program): one program at a time is
     * resident beside this process; their input files are written meanwhile.
     */
    programsAfter?: Promise<unknown>;
  },
): Promise<Map<Unit, SchemaResult>> {
  const { runners } = opts;
  const raw = new Map<Unit, SchemaResult>();
  const tmp = await mkdtemp(path.join(os.tmpdir(), "capi-gitops-validate-"));
  try {
    /**
     * A unit a program has to check: its input file and the digest of its text (the text itself, ≈ 0.5 MB a cluster
     * with the add-on payloads, is not kept while the programs run), and the result the program's answer goes into.
     */
    type Pending = { unit: Unit; file: string; digest: string; result: SchemaResult };
    const pendingOf = new Map<string, Pending>();
    const needKc: Pending[] = [];
    const needCel: Pending[] = [];
    const free = configMapValuesFree(runners.schemaLocation);
    const digests = new Map<string, string>();
    const digestOf = (s: string) => {
      let d = digests.get(s);
      if (d === undefined) digests.set(s, (d = contentSha(s)));
      return d;
    };
    for (const [i, u] of units.entries()) {
      if (u.objects.length === 0) continue;
      const withCel = u.cel && !opts.skipCel;
      // JSON documents in a YAML stream: both programs read them, and JSON.stringify is ~50× faster than YAML. A unit
      // only kubeconform reads gets the ConfigMaps' stand-ins.
      const view = (o: K8sObject) => kubeconformView(o, free && !withCel, digestOf);
      const text = `${u.objects.map((o) => JSON.stringify(dropNulls(view(o)))).join("\n---\n")}\n`;
      const digest = contentSha(text);
      const kc = opts.cache?.result("kubeconform", u.cacheId, digest, isStoredVerdict);
      const cel = withCel ? opts.cache?.result("cel", u.cacheId, digest, isKubectlValidateStatus) : undefined;
      const result: SchemaResult = { kubeconform: kc ?? [], cel };
      raw.set(u, result);
      if (!kc || (withCel && !cel)) {
        const file = path.join(tmp, `${i}-${u.label.replace(/[^A-Za-z0-9._-]/g, "_")}.yaml`);
        await writeFile(file, text);
        const p: Pending = { unit: u, file, digest, result };
        pendingOf.set(file, p);
        if (!kc) needKc.push(p);
        if (withCel && !cel) needCel.push(p);
      }
    }

    await opts.programsAfter?.catch(() => undefined);
    opts.onProgress?.("kubeconform", 0, needKc.length);
    const verdicts = needKc.length
      ? await runners.kubeconform(
          needKc.map((p) => p.file),
          { cwd: root, schemaLocation: runners.schemaLocation, workers: opts.workers },
        )
      : [];
    const kcOf = new Map<Pending, SchemaResult["kubeconform"]>(needKc.map((p) => [p, []]));
    for (const { filename, ...r } of verdicts) {
      const p = pendingOf.get(filename) ?? pendingOf.get(path.resolve(root, filename));
      if (p) kcOf.get(p)?.push(r);
    }
    for (const [p, list] of kcOf) {
      p.result.kubeconform = list;
      opts.cache?.storeResult("kubeconform", p.unit.cacheId, p.digest, list);
    }
    opts.onProgress?.("kubeconform", needKc.length, needKc.length);

    if (needCel.length > 0) {
      opts.onProgress?.("cel", 0, needCel.length);
      const processes = Math.max(1, Math.min(opts.workers, Math.floor(needCel.length / CEL_FILES_PER_PROCESS)));
      const shares = Array.from({ length: processes }, (_, g) => needCel.filter((_, i) => i % processes === g));
      const outputs = await Promise.all(
        shares.map((share) =>
          runners.kubectlValidate(
            share.map((p) => p.file),
            { cwd: root, groups: new Set(share.flatMap((p) => p.unit.objects.map((o) => groupOf(o.apiVersion)))) },
          ),
        ),
      );
      for (const out of outputs)
        for (const [file, statuses] of Object.entries(out)) {
          const p = pendingOf.get(path.resolve(root, file)) ?? pendingOf.get(file);
          if (!p) continue;
          p.result.cel = statuses;
          if (statuses.length === p.unit.objects.length)
            opts.cache?.storeResult("cel", p.unit.cacheId, p.digest, statuses);
        }
      opts.onProgress?.("cel", needCel.length, needCel.length);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return raw;
}

/** Whether a schema layer rejected anything of the unit (such clusters get their origins). */
export const schemaRejected = (r: SchemaResult | undefined): boolean =>
  Boolean(r && (r.kubeconform.length > 0 || r.cel?.some((s) => s.status === "Failure")));

const originOf = (u: Unit, kind: string, name: string): string => {
  const i = u.objects.findIndex((o) => o.kind === kind && o.metadata?.name === name);
  return (i >= 0 ? u.origins[i] : undefined) ?? u.fallbackFile;
};

/** kubeconform's verdicts as findings; `invalid` collects the objects it rejected (`label/Kind/name`). */
export function kubeconformFindings(
  u: Unit,
  results: SchemaResult["kubeconform"],
  unserved: ReturnType<typeof readUnserved>,
  invalid: Set<string>,
): Finding[] {
  const findings: Finding[] = [];
  for (const r of results) {
    invalid.add(`${u.label}/${r.kind}/${r.name}`);
    const base = { cluster: u.cluster, file: originOf(u, r.kind, r.name), severity: "error" as const };
    if (r.verdict === "no-schema") {
      const msg = unservedMessage(unserved, r.apiVersion, r.kind);
      findings.push({
        ...base,
        path: `${r.kind}/${r.name}:apiVersion`,
        rule: msg ? "api-served" : "schema-missing",
        message: msg ?? `no schema for ${r.kind} ${r.apiVersion}: not a kind of the pinned providers`,
      });
      continue;
    }
    if (r.errors.length === 0)
      findings.push({ ...base, path: `${r.kind}/${r.name}`, rule: "kubeconform", message: r.message });
    for (const e of r.errors)
      findings.push({ ...base, path: `${r.kind}/${r.name}:${e.field}`, rule: "kubeconform", message: e.message });
  }
  return findings;
}

/** CEL (x-kubernetes-validations) verdicts as findings; objects kubeconform already rejected are not repeated. */
export function celFindings(
  u: Unit,
  statuses: readonly KubectlValidateStatus[],
  invalid: ReadonlySet<string>,
): Finding[] {
  const findings: Finding[] = [];
  statuses.forEach((s, i) => {
    const o = u.objects[i];
    if (s.status !== "Failure" || !o || invalid.has(`${u.label}/${o.kind}/${o.metadata.name}`)) return;
    const causes = s.details?.causes?.length ? s.details.causes : [{ field: undefined, message: s.message }];
    for (const c of causes)
      findings.push({
        cluster: u.cluster,
        file: u.origins[i] ?? u.fallbackFile,
        path: `${o.kind}/${o.metadata.name}${c.field ? `:${c.field}` : ""}`,
        rule: "cel",
        severity: "error",
        message: c.message ?? "rejected",
      });
  });
  return findings;
}
