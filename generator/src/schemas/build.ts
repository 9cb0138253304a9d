/**
 * Pure: the loaded upstream inputs (CRD objects, OpenAPI documents) → every file under schemas/kubeconform/,
 * as a map of repo-relative path → text. The schemas command does the downloading and the writing.
 */
import {
  convertCrd,
  convertOpenApiKinds,
  objectMetaSchema,
  OBJECT_META_DEFINITION,
  serializeSchema,
  type ConvertedKind,
  type OpenApiDocument,
} from "./convert.js";
import { apiVersionOf, schemaFile, UNSERVED_FILE } from "./layout.js";
import { compareUnserved, type UnservedEntry } from "./unserved.js";

export interface CrdInput {
  /** module@version */
  source: string;
  /** CustomResourceDefinition objects, each with the file it came from (for error messages). */
  crds: { file: string; crd: unknown }[];
}
export interface OpenApiInput {
  source: string;
  docs: { file: string; doc: OpenApiDocument }[];
  kinds: readonly string[];
}
export interface SchemaBuild {
  /** repo-relative path → file text */
  files: Map<string, string>;
  /** number of schema files (unserved.json not counted) */
  schemas: number;
  unserved: UnservedEntry[];
}

function mergedDoc(input: OpenApiInput): OpenApiDocument {
  const schemas: Record<string, unknown> = {};
  for (const { doc } of input.docs) Object.assign(schemas, doc.components?.schemas ?? {});
  return { components: { schemas } };
}

export function buildSchemaFiles(crdInputs: readonly CrdInput[], openApiInputs: readonly OpenApiInput[]): SchemaBuild {
  const metaSource = openApiInputs.find((i) =>
    i.docs.some(({ doc }) => doc.components?.schemas?.[OBJECT_META_DEFINITION] !== undefined),
  );
  if (!metaSource)
    throw new Error(`no pinned OpenAPI document defines ${OBJECT_META_DEFINITION} (versions.json "openapi")`);
  const objectMeta = objectMetaSchema(mergedDoc(metaSource));

  const converted: { source: string; origin: string; kind: ConvertedKind }[] = [];
  for (const input of openApiInputs) {
    for (const kind of convertOpenApiKinds(mergedDoc(input), input.kinds, objectMeta))
      converted.push({ source: input.source, origin: input.source, kind });
  }
  for (const input of crdInputs) {
    for (const { file, crd } of input.crds) {
      let kinds: ConvertedKind[];
      try {
        kinds = convertCrd(crd, objectMeta);
      } catch (e) {
        throw new Error(`${input.source} ${file}: ${e instanceof Error ? e.message : String(e)}`);
      }
      for (const kind of kinds) converted.push({ source: input.source, origin: `${input.source} ${file}`, kind });
    }
  }

  const files = new Map<string, string>();
  const origins = new Map<string, string>();
  for (const { origin, kind: k } of converted) {
    if (!k.served) continue;
    const rel = schemaFile(apiVersionOf(k.group, k.version), k.kind);
    const before = origins.get(rel);
    if (before)
      throw new Error(`${k.kind} ${apiVersionOf(k.group, k.version)} is defined twice: ${before} and ${origin}`);
    origins.set(rel, origin);
    files.set(rel, serializeSchema(k.schema));
  }
  const schemas = files.size;

  const servedBy = (source: string, group: string, kind: string): string[] =>
    converted
      .filter((c) => c.source === source && c.kind.served && c.kind.group === group && c.kind.kind === kind)
      .map((c) => c.kind.version)
      .sort();
  const unserved: UnservedEntry[] = converted
    .filter(({ kind: k }) => !k.served && !files.has(schemaFile(apiVersionOf(k.group, k.version), k.kind)))
    .map(({ source, kind: k }) => ({
      group: k.group,
      version: k.version,
      kind: k.kind,
      source,
      served: servedBy(source, k.group, k.kind),
    }))
    .sort(compareUnserved);
  files.set(
    UNSERVED_FILE,
    unserved.length === 0 ? "[]\n" : `[\n${unserved.map((e) => `  ${JSON.stringify(e)}`).join(",\n")}\n]\n`,
  );
  return { files: new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), schemas, unserved };
}
