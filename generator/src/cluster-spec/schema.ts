/**
 * JSON Schema of the cluster spec, derived from its one definition (types.ts `ClusterSpecDefinition`): used by ajv
 * when reading cluster.yaml and written to schemas/cluster-spec.schema.json so editors complete it
 * (`# yaml-language-server: $schema=` line). It keeps its descriptions (they are for humans).
 */
import { editorSchema } from "./definition.js";
import { ClusterSpecDefinition } from "./types.js";

/** Where commands have always imported the name pattern from; it lives with the definition. */
export { DNS_LABEL } from "./types.js";

export const clusterSpecSchema = editorSchema(
  {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: "https://capi-gitops.io/schemas/cluster-spec.schema.json",
    title: "capi-gitops cluster spec (clusters/<name>/cluster.yaml)",
    description: "One Cluster API cluster on AWS. `npm run generate` turns it into the Kustomize overlay beside it.",
  },
  ClusterSpecDefinition,
);
