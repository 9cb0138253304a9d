/**
 * `npm run schemas`: JSON schemas for kubeconform made from the pinned upstream CRDs and Kubernetes OpenAPI
 * (versions.json "crds" and "openapi"), written to schemas/kubeconform/ by repo/write.ts. Everything is computed
 * first, then written as one owned folder: files no longer produced are removed. Nothing else is touched.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { CapiGitopsError, ToolError } from "../core/errors.js";
import { buildSchemaFiles, type CrdInput, type OpenApiInput } from "../schemas/build.js";
import type { OpenApiDocument } from "../schemas/convert.js";
import { KIND_TYPES_FILE, kindTypesFile } from "../schemas/kind-types.js";
import { KUBECONFORM_DIR } from "../schemas/layout.js";
import {
  IMAGE_INVENTORY_DIR,
  IMAGE_INVENTORY_FILE,
  IMAGE_INVENTORY_SOURCE,
  parseImageInventory,
} from "../schemas/ami-inventory.js";
import { owned } from "../plan/files.js";
import { withRepoLock } from "../repo/lock.js";
import { writeTree } from "../repo/write.js";
import { goModDownload } from "../tools/go.js";
import { versions } from "../pins/versions.js";
import { parseYamlStream } from "../core/yaml.js";

async function moduleDir(module: string, version: string): Promise<string> {
  try {
    return await goModDownload(module, version);
  } catch (e) {
    if (e instanceof CapiGitopsError) throw e;
    throw new ToolError(
      `cannot download ${module}@${version}: ${(e as Error).message}`,
      `go mod download -json ${module}@${version}`,
    );
  }
}

function readText(file: string, source: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new ToolError(
      `${source}: cannot read ${file}: ${(e as Error).message} — is the path in versions.json right for this version?`,
    );
  }
}

function crdFilesIn(dir: string, source: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new ToolError(
      `${source}: cannot list ${dir}: ${(e as Error).message} — is the path in versions.json right for this version?`,
    );
  }
  return names
    .filter((n) => /\.ya?ml$/.test(n))
    .sort()
    .map((n) => path.join(dir, n));
}

function isCrd(doc: unknown): boolean {
  return typeof doc === "object" && doc !== null && (doc as { kind?: unknown }).kind === "CustomResourceDefinition";
}

/** Every CRD of the modules pinned in versions.json "crds", read from the Go module cache (downloaded when missing). */
export async function loadPinnedCrds(log: (line: string) => void): Promise<(CrdInput & { name: string })[]> {
  const pins = versions();
  const crdInputs: (CrdInput & { name: string })[] = [];
  for (const [name, pin] of Object.entries(pins.crds)) {
    const source = `${pin.module}@${pin.version}`;
    const dir = await moduleDir(pin.module, pin.version);
    const files = [
      ...(pin.dirs ?? []).flatMap((d) =>
        crdFilesIn(path.join(dir, d), source).map((file) => ({ file, listed: false })),
      ),
      ...(pin.files ?? []).map((f) => ({ file: path.join(dir, f), listed: true })),
    ];
    const crds: CrdInput["crds"] = [];
    for (const { file, listed } of files) {
      const rel = path.relative(dir, file);
      let docs: unknown[];
      try {
        docs = parseYamlStream(readText(file, source));
      } catch (e) {
        throw new ToolError(`${source} ${rel}: ${(e as Error).message}`);
      }
      const found = docs.filter(isCrd);
      if (found.length === 0 && listed) {
        throw new ToolError(`${source} ${rel}: holds no CustomResourceDefinition`);
      }
      for (const crd of found) crds.push({ file: rel, crd });
    }
    if (crds.length === 0)
      throw new ToolError(`${source} (${name} in versions.json): no CustomResourceDefinitions found`);
    log(`${name}: ${source}, ${crds.length} CRDs`);
    crdInputs.push({ name, source, crds });
  }

  return crdInputs;
}

export async function schemasCommand(opts: {
  cwd: string;
  log: (line: string) => void;
}): Promise<{ written: number; unserved: number }> {
  const pins = versions();

  const crdInputs = await loadPinnedCrds(opts.log);

  const openApiInputs: OpenApiInput[] = [];
  for (const [name, pin] of Object.entries(pins.openapi ?? {})) {
    const source = `${pin.module}@${pin.version}`;
    const dir = await moduleDir(pin.module, pin.version);
    const docs = pin.files.map((f) => {
      try {
        return { file: f, doc: JSON.parse(readText(path.join(dir, f), source)) as OpenApiDocument };
      } catch (e) {
        if (e instanceof CapiGitopsError) throw e;
        throw new ToolError(`${source} ${f}: ${(e as Error).message}`);
      }
    });
    opts.log(`${name}: ${source}, ${pin.kinds.join(", ")}`);
    openApiInputs.push({ source, docs, kinds: pin.kinds });
  }

  let build;
  try {
    build = buildSchemaFiles(crdInputs, openApiInputs);
  } catch (e) {
    throw new ToolError(`cannot convert the pinned schemas: ${(e as Error).message}`);
  }

  // CAPA's published images (validate/images.ts reads them), from the pinned CAPA module.
  const capa = pins.crds["cluster-api-provider-aws"];
  if (!capa) throw new ToolError('versions.json has no crds["cluster-api-provider-aws"]');
  const capaSource = `${capa.module}@${capa.version}`;
  let inventory;
  try {
    inventory = parseImageInventory(
      readText(path.join(await moduleDir(capa.module, capa.version), IMAGE_INVENTORY_SOURCE), capaSource),
      capaSource,
    );
  } catch (e) {
    if (e instanceof CapiGitopsError) throw e;
    throw new ToolError((e as Error).message);
  }
  opts.log(`${IMAGE_INVENTORY_FILE}: ${inventory.images.length} published CAPA images (${capaSource})`);

  // Written by the one writer: schemas/kubeconform/ is owned whole (stale files go, changed files come, in one swap).
  const plan = {
    files: [
      ...[...build.files].map(([rel, text]) => owned(rel, text)),
      owned(IMAGE_INVENTORY_FILE, `${JSON.stringify(inventory, null, 2)}\n`),
      owned(KIND_TYPES_FILE, await kindTypesFile(build.files)),
    ],
    roots: [KUBECONFORM_DIR, IMAGE_INVENTORY_DIR],
  };
  let result;
  try {
    result = await withRepoLock(opts.cwd, () => writeTree(opts.cwd, plan), { log: opts.log });
  } catch (e) {
    if (e instanceof CapiGitopsError) throw e;
    throw new ToolError(`cannot write ${KUBECONFORM_DIR}: ${(e as Error).message}`);
  }
  const changed = result.written.length;
  const removed = result.deleted.length;
  opts.log(
    `${KUBECONFORM_DIR}: ${build.schemas} schemas (${changed} files changed, ${removed} removed), ${build.unserved.length} unserved versions recorded`,
  );
  return { written: build.schemas, unserved: build.unserved.length };
}
