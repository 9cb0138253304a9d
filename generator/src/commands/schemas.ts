/**
 * `npm run schemas`: JSON schemas for kubeconform made from the pinned upstream CRDs and Kubernetes OpenAPI
 * (versions.json "crds" and "openapi"), written to schemas/kubeconform/ by repo/write.ts. Everything is computed
 * first, then written as one owned folder: files no longer produced are removed. Nothing else is touched.
 */
import path from "node:path";
import { CapiGitopsError, messageOf, ToolError } from "../core/errors.js";
import { buildSchemaFiles, type OpenApiInput } from "../schemas/build.js";
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
import { versions } from "../pins/versions.js";
import { get, isRecord } from "../k8s/object.js";
import { loadPinnedCrds, moduleDir, readText } from "../workflows/crds.js";

/** The part of an OpenAPI document the conversion reads (components.schemas). */
function openApiDocument(text: string): OpenApiDocument {
  const doc: unknown = JSON.parse(text);
  const schemas = get(doc, "components.schemas");
  return isRecord(schemas) ? { components: { schemas } } : isRecord(get(doc, "components")) ? { components: {} } : {};
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
        return { file: f, doc: openApiDocument(readText(path.join(dir, f), source)) };
      } catch (e) {
        if (e instanceof CapiGitopsError) throw e;
        throw new ToolError(`${source} ${f}: ${messageOf(e)}`);
      }
    });
    opts.log(`${name}: ${source}, ${pin.kinds.join(", ")}`);
    openApiInputs.push({ source, docs, kinds: pin.kinds });
  }

  let build;
  try {
    build = buildSchemaFiles(crdInputs, openApiInputs);
  } catch (e) {
    throw new ToolError(`cannot convert the pinned schemas: ${messageOf(e)}`);
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
    throw new ToolError(messageOf(e));
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
    throw new ToolError(`cannot write ${KUBECONFORM_DIR}: ${messageOf(e)}`);
  }
  const changed = result.written.length;
  const removed = result.deleted.length;
  opts.log(
    `${KUBECONFORM_DIR}: ${build.schemas} schemas (${changed} files changed, ${removed} removed), ` +
      `${build.unserved.length} unserved versions recorded`,
  );
  return { written: build.schemas, unserved: build.unserved.length };
}
