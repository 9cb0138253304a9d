/**
 * Rendering for validation: many cluster overlays built by one kustomize process (a temporary kustomization that
 * lists them; far cheaper than a process per cluster), chunked across the cores. Every object is attributed to its
 * cluster (by namespace, one per cluster) and to the file it came from (kustomize origin annotations). A chunk that
 * fails is rebuilt cluster by cluster so the error lands on the right cluster.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import pLimit from "p-limit";
import { parse as parseYaml } from "yaml";
import { ToolError, ToolUnavailableError } from "../errors.js";
import type { Finding } from "../findings.js";
import { KUSTOMIZATION } from "../plan/kustomize-objects.js";
import { kustomizeBuild } from "../tools/kustomize.js";
import { parseYamlStream, toYaml } from "../yaml.js";

export type RenderedObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  [k: string]: unknown;
};

export interface RenderedCluster {
  cluster: string;
  objects: RenderedObject[];
  /** Repository-relative source file of each object (same index), from kustomize's origin annotation. */
  origins: (string | undefined)[];
}

const ORIGIN = "config.kubernetes.io/origin";
export const BUILD_DIR_PREFIX = ".capi-gitops-build-";

function takeOrigin(o: RenderedObject): string | undefined {
  const ann = o.metadata?.annotations;
  const raw = ann?.[ORIGIN];
  if (!ann || raw === undefined) return undefined;
  delete ann[ORIGIN];
  if (Object.keys(ann).length === 0) delete o.metadata.annotations;
  const p = (parseYaml(raw) as { path?: string } | null)?.path;
  return p?.replace(/^\.\.\//, "");
}

/** A one-cluster build is that cluster's; otherwise the origin under clusters/<name>/, else the namespace. */
function clusterOf(o: RenderedObject, origin: string | undefined, byNamespace: Map<string, string>, built: readonly string[]): string | undefined {
  if (built.length === 1) return built[0];
  const m = origin && /^clusters\/([^/]+)\//.exec(origin);
  if (m && built.includes(m[1]!)) return m[1];
  const ns = o.kind === "Namespace" ? o.metadata?.name : o.metadata?.namespace;
  return ns ? byNamespace.get(ns) : undefined;
}

async function buildMany(root: string, clusters: readonly string[]): Promise<string> {
  const dir = path.join(root, `${BUILD_DIR_PREFIX}${randomBytes(4).toString("hex")}`);
  await mkdir(dir);
  try {
    await writeFile(path.join(dir, "kustomization.yaml"), toYaml({ ...KUSTOMIZATION, buildMetadata: ["originAnnotations"], resources: clusters.map((c) => `../clusters/${c}`) }));
    return await kustomizeBuild(root, path.relative(root, dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function renderClusters(
  root: string,
  clusters: readonly { name: string; namespace?: string }[],
  opts: { workers: number; chunkSize?: number; onProgress?: (done: number, total: number) => void },
): Promise<{ rendered: RenderedCluster[]; findings: Finding[] }> {
  const byNamespace = new Map(clusters.filter((c) => c.namespace).map((c) => [c.namespace!, c.name]));
  const names = clusters.map((c) => c.name);
  const chunkSize = opts.chunkSize ?? Math.max(1, Math.ceil(names.length / opts.workers));
  const chunks: string[][] = [];
  for (let i = 0; i < names.length; i += chunkSize) chunks.push(names.slice(i, i + chunkSize));
  const limit = pLimit(opts.workers);
  const outputs: { names: string[]; text: string }[] = [];
  const findings: Finding[] = [];
  let done = 0;
  await Promise.all(
    chunks.map((chunk) =>
      limit(async () => {
        try {
          outputs.push({ names: chunk, text: await buildMany(root, chunk) });
        } catch (e) {
          if (!(e instanceof ToolError) || e instanceof ToolUnavailableError) throw e;
          for (const c of chunk) {
            try {
              outputs.push({ names: [c], text: await buildMany(root, [c]) });
            } catch (err) {
              if (!(err instanceof ToolError) || err instanceof ToolUnavailableError) throw err;
              const msg = (err.stderr || err.message).replace(/\.capi-gitops-build-[0-9a-f]+/g, "<build>");
              findings.push({ cluster: c, file: `clusters/${c}/kustomization.yaml`, rule: "kustomize-build", severity: "error", message: `kustomize build failed: ${msg.split("\n")[0]}` });
            }
          }
        }
        done += chunk.length;
        opts.onProgress?.(done, names.length);
      }),
    ),
  );
  const byCluster = new Map<string, RenderedCluster>(names.map((n) => [n, { cluster: n, objects: [], origins: [] }]));
  for (const out of outputs) {
    for (const doc of parseYamlStream(out.text) as RenderedObject[]) {
      const origin = takeOrigin(doc);
      const c = clusterOf(doc, origin, byNamespace, out.names);
      const rc = c ? byCluster.get(c) : undefined;
      if (!rc) {
        findings.push({ file: origin, path: `${doc.kind}/${doc.metadata?.name}`, rule: "attribution", severity: "error", message: `object in namespace "${doc.metadata?.namespace ?? ""}" belongs to no cluster: each cluster's objects must live in its own namespace` });
        continue;
      }
      rc.objects.push(doc);
      rc.origins.push(origin);
    }
  }
  return { rendered: names.map((n) => byCluster.get(n)!), findings };
}
