/**
 * Rendering for validation: cluster overlays built in small batches, one kustomize process per batch, as many
 * processes at once as there are workers. A batch is a temporary kustomization listing one wrapper per cluster;
 * each wrapper builds `clusters/<name>` unchanged and only stamps a marker annotation on its objects, so every
 * object is attributed to the cluster whose build produced it — exactly, whatever namespace it ends up in — and
 * the marker is removed again. The objects of a cluster are the ones `kustomize build clusters/<name>` prints, in
 * the same order (checked by generator/test/cache.test.ts).
 *
 * Why small batches: kustomize's cost per cluster grows with the size of the build, and each process has a
 * start-up cost, so batches of ~16 keep both low (the measurements: this file's git log). Origin annotations (which
 * file each object came from) make kustomize slower; `origins: false` leaves them out and validate asks for them
 * again only for the clusters that have findings. A batch that fails is rebuilt cluster by cluster so the error
 * lands on the right cluster.
 */
import { randomBytes } from "node:crypto";
import { lstat, mkdir, readlink, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import pLimit from "p-limit";
import { parse as parseYaml } from "yaml";
import { errnoCode, ToolError, ToolOutputError, ToolUnavailableError } from "../core/errors.js";
import type { Finding } from "../core/findings.js";
import { isRecord, type K8sObject } from "../k8s/object.js";
import { BUILD_DIR_PREFIX } from "../kustomize/build-dir.js";
import { diskReader } from "../repo/affected.js";
import { remoteFindings } from "./remote.js";
import { clusterDir, clusterKustomizationPath } from "../core/layout.js";
import { KUSTOMIZATION } from "../plan/kustomize-objects.js";
import { kustomizeBuild, parseBuildOutput } from "../tools/kustomize.js";
import { toYaml, toYamlInline } from "../core/yaml.js";
import type { Env } from "../tools/run.js";

export interface RenderedCluster {
  cluster: string;
  objects: K8sObject[];
  /** Repository-relative source file of each object (same index), from kustomize's origin annotation. */
  origins: (string | undefined)[];
  /**
   * Repository-relative kustomization files whose transformers (patches among them) touched each object (same
   * index), from kustomize's transformer annotation; only when rendered with origins.
   */
  transformations?: (string[] | undefined)[];
}

const ORIGIN = "config.kubernetes.io/origin";
const TRANSFORMATIONS = "alpha.config.kubernetes.io/transformations";
/** A path as kustomize prints it, relative to the batch directory at the repository root → repository-relative. */
const repoPath = (p: string) => path.posix.normalize(p).replace(/^\.\.\//, "");

/**
 * An annotation's value, taken off the object. The annotations (and the metadata, when none is left) are made anew
 * instead of losing a property with `delete`, which turns a V8 object into a dictionary several times its size: the
 * render's marker taken off every object so left ≈ 10 MB of such annotations at 1000 clusters.
 */
function takeAnnotation(o: K8sObject, key: string): string | undefined {
  const ann = o.metadata?.annotations;
  const value = ann?.[key];
  if (!ann || value === undefined) return undefined;
  const rest = Object.entries(ann).filter(([k]) => k !== key);
  if (rest.length > 0) o.metadata.annotations = Object.fromEntries(rest);
  else {
    const { annotations: _, ...metadata } = o.metadata;
    o.metadata = metadata;
  }
  return value;
}

function takeTransformations(o: K8sObject): string[] | undefined {
  const raw = takeAnnotation(o, TRANSFORMATIONS);
  if (raw === undefined) return undefined;
  const list: unknown = parseYaml(raw);
  return Array.isArray(list)
    ? [
        ...new Set(
          list
            .map((t) => (isRecord(t) ? t.configuredIn : undefined))
            .filter((p): p is string => typeof p === "string")
            .map(repoPath),
        ),
      ]
    : undefined;
}

function takeOrigin(o: K8sObject): string | undefined {
  const raw = takeAnnotation(o, ORIGIN);
  if (raw === undefined) return undefined;
  // A generated object (configMapGenerator: the add-on payloads) has no `path`, only the kustomization that made it.
  const origin: unknown = parseYaml(raw);
  if (!isRecord(origin)) return undefined;
  const p = origin.path ?? origin.configuredIn;
  return typeof p === "string" ? repoPath(p) : undefined;
}

/** Marker annotation the wrapper stamps: the index of the cluster in its batch. */
const MARKER = "capi-gitops.internal/render-unit";
/** Clusters per kustomize process (see the header). */
export const MAX_CHUNK = 16;

export interface RenderOptions {
  workers: number;
  /** Clusters per kustomize process; default: spread over the workers, at most MAX_CHUNK. */
  chunkSize?: number;
  /** Keep kustomize's origin annotations as `origins` (default true; false is faster, origins stay undefined). */
  origins?: boolean;
  onProgress?: (done: number, total: number) => void;
  /** The environment kustomize is found in (tools/resolve.ts; the Context's). */
  env?: Env;
}

/** The errors of a folder that cannot be written to. */
const READ_ONLY = new Set(["EROFS", "EACCES", "EPERM"]);

/** The kustomization of a batch: one wrapper directory per cluster (w0, w1, …) that marks its objects. */
async function writeBatch(dir: string, clusters: readonly string[], origins: boolean): Promise<void> {
  await writeFile(
    path.join(dir, "kustomization.yaml"),
    toYaml({
      ...KUSTOMIZATION,
      ...(origins ? { buildMetadata: ["originAnnotations", "transformerAnnotations"] } : {}),
      resources: clusters.map((_, i) => `w${i}`),
    }),
  );
  await Promise.all(
    clusters.map(async (c, i) => {
      await mkdir(path.join(dir, `w${i}`));
      const marker = {
        apiVersion: "builtin",
        kind: "AnnotationsTransformer",
        metadata: { name: "capi-gitops-render-unit" },
        annotations: { [MARKER]: String(i) },
        fieldSpecs: [{ path: "metadata/annotations", create: true }],
      };
      await writeFile(
        path.join(dir, `w${i}`, "kustomization.yaml"),
        toYaml({ ...KUSTOMIZATION, resources: [`../../${clusterDir(c)}`], transformers: [toYamlInline(marker)] }),
      );
    }),
  );
}

/** Builds the clusters in one kustomize process; returns each cluster's objects and origins, in `clusters` order. */
type Built = Omit<RenderedCluster, "cluster">;
async function buildBatch(
  root: string,
  clusters: readonly string[],
  origins: boolean,
  env: Env | undefined,
): Promise<Built[]> {
  const alone = async (c: string): Promise<Built> => {
    const objects = parseBuildOutput(await kustomizeBuild(root, clusterDir(c), env), clusterDir(c));
    return {
      objects,
      origins: objects.map(() => undefined),
      ...(origins ? { transformations: objects.map(() => undefined) } : {}),
    };
  };
  // One cluster without origins: the plain build, exactly what Argo CD / Flux run (and its error names real paths).
  const [only] = clusters;
  if (clusters.length === 1 && only !== undefined && !origins) return [await alone(only)];
  const out = clusters.map((): Built => ({ objects: [], origins: [], ...(origins ? { transformations: [] } : {}) }));
  const dir = path.join(root, `${BUILD_DIR_PREFIX}${randomBytes(4).toString("hex")}`);
  let text: string;
  try {
    await mkdir(dir);
  } catch (e) {
    // A read-only checkout (a CI cache, a mounted volume): no batch folder can be made, so each cluster is built on
    // its own, as Argo CD / Flux build it, which writes nothing (without origins: findings name the cluster's files).
    if (!READ_ONLY.has(errnoCode(e) ?? "")) throw e;
    return Promise.all(clusters.map(alone));
  }
  try {
    await writeBatch(dir, clusters, origins);
    text = await kustomizeBuild(root, path.relative(root, dir), env);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  for (const doc of parseBuildOutput(text, clusters.map(clusterDir).join(", "))) {
    const unit = takeAnnotation(doc, MARKER);
    const target = unit === undefined ? undefined : out[Number(unit)];
    if (!target)
      throw new ToolError(
        `kustomize printed an object without the render marker: ${doc.kind}/${doc.metadata?.name}`,
        "kustomize build",
      );
    target.origins.push(takeOrigin(doc));
    const t = takeTransformations(doc);
    target.transformations?.push(t);
    target.objects.push(doc);
  }
  return out;
}

/**
 * kustomize refused the build (a finding on the cluster), as opposed to a tool that is missing, of another version,
 * or printing what kustomize never prints (the run fails, exit 2).
 */
export const isBuildFailure = (e: unknown): e is ToolError =>
  e instanceof ToolError && !(e instanceof ToolUnavailableError) && !(e instanceof ToolOutputError);

async function failure(root: string, c: string, err: ToolError): Promise<Finding> {
  const file = clusterKustomizationPath(c);
  const msg = (err.stderr || err.message).replace(/\.capi-gitops-build-[0-9a-f]+(\/w\d+)?/g, "<build>");
  // kustomize (v5.8.1) does not load a kustomization file through a symbolic link into another folder, and says
  // only "unable to find one of 'kustomization.yaml', …" about the folder that visibly has one.
  const st = await lstat(path.join(root, file)).catch(() => undefined);
  if (st?.isSymbolicLink() && /unable to find one of/.test(msg)) {
    const to = await readlink(path.join(root, file)).catch(() => "?");
    return {
      cluster: c,
      file,
      rule: "kustomize-build",
      severity: "error",
      message:
        `is a symbolic link to ${to}, outside its own folder, which kustomize ` +
        `(and so Argo CD and Flux) does not load ("unable to find one of ` +
        `'kustomization.yaml' …"); replace it with a regular file — to reuse ` +
        `another folder, list that folder under resources`,
    };
  }
  return {
    cluster: c,
    file,
    rule: "kustomize-build",
    severity: "error",
    message: `kustomize build failed: ${msg.replace(/\s+/g, " ").trim().slice(0, 600)}`,
  };
}

/** Renders clusters/<name> for each cluster (the wrapper marks each cluster's objects, whatever their namespace). */
export async function renderClusters(
  root: string,
  clusters: readonly { name: string }[],
  opts: RenderOptions,
): Promise<{ rendered: RenderedCluster[]; findings: Finding[] }> {
  // Remote references are refused before any build (render/remote.ts): such a cluster is not built at all.
  const disk = diskReader(root);
  const seen = new Map<string, string | undefined>();
  // Each file once per call: the clusters share base/ and the overlays.
  const read = (rel: string) => (seen.has(rel) ? seen.get(rel) : (seen.set(rel, disk(rel)), seen.get(rel)));
  const refused = clusters.flatMap((c) => remoteFindings(clusterDir(c.name), read, c.name));
  const skip = new Set(refused.map((f) => f.cluster));
  const all = clusters.map((c) => c.name);
  const names = all.filter((n) => !skip.has(n));
  const origins = opts.origins ?? true;
  const chunkSize = opts.chunkSize ?? Math.min(MAX_CHUNK, Math.max(1, Math.ceil(names.length / opts.workers)));
  const chunks: string[][] = [];
  for (let i = 0; i < names.length; i += chunkSize) chunks.push(names.slice(i, i + chunkSize));
  const limit = pLimit(opts.workers);
  const byCluster = new Map<string, RenderedCluster>(all.map((n) => [n, { cluster: n, objects: [], origins: [] }]));
  const findings: Finding[] = [...refused];
  const land = (chunk: readonly string[], built: Built[]) =>
    chunk.forEach((c, i) => {
      const rc = byCluster.get(c);
      if (rc) Object.assign(rc, built[i]);
    });
  let done = 0;
  await Promise.all(
    chunks.map((chunk) =>
      limit(async () => {
        try {
          land(chunk, await buildBatch(root, chunk, origins, opts.env));
        } catch (e) {
          if (!isBuildFailure(e)) throw e;
          for (const c of chunk) {
            try {
              land([c], await buildBatch(root, [c], origins, opts.env));
            } catch (err) {
              if (!isBuildFailure(err)) throw err;
              findings.push(await failure(root, c, err));
            }
          }
        }
        done += chunk.length;
        opts.onProgress?.(done, names.length);
      }),
    ),
  );
  const order = new Map(all.map((n, i) => [n, i]));
  const at = (f: Finding) => (f.cluster === undefined ? -1 : (order.get(f.cluster) ?? -1));
  findings.sort((a, b) => at(a) - at(b));
  return { rendered: all.flatMap((n) => byCluster.get(n) ?? []), findings };
}
