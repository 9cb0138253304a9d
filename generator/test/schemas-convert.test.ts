import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { buildSchemaFiles } from "../src/schemas/build.js";
import {
  convertCrd,
  convertNode,
  convertOpenApiKinds,
  objectMetaSchema,
  serializeSchema,
  type JsonSchema,
  type OpenApiDocument,
} from "../src/schemas/convert.js";
import { KUBECONFORM_SCHEMA_TEMPLATE, schemaFile, schemaLocation, UNSERVED_FILE } from "../src/schemas/layout.js";
import { unservedMessage, type UnservedEntry } from "../src/schemas/unserved.js";
import { parseYamlStream } from "../src/core/yaml.js";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "crds");
const widgetCrd = parseYamlStream(readFileSync(path.join(FIXTURES, "widgets.example.com.yaml"), "utf8"))[0];
const coreDoc = JSON.parse(readFileSync(path.join(FIXTURES, "core-v1-openapi.json"), "utf8")) as OpenApiDocument;
const objectMeta = objectMetaSchema(coreDoc);

// The converted schemas use only draft-4 features that ajv's default draft shares; formats are kubeconform's
// business (schemas-kubeconform.test.ts), so ajv ignores them here.
const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });

type Doc = Record<string, any>;
const widgetKinds = convertCrd(widgetCrd, objectMeta);
const widgetV1 = widgetKinds.find((k) => k.version === "v1")!;
const validateWidget = ajv.compile(widgetV1.schema);

const goodWidget = (): Doc => ({
  apiVersion: "example.com/v1",
  kind: "Widget",
  metadata: {
    name: "w",
    namespace: "ns",
    generateName: "w-",
    labels: { app: "w" },
    annotations: { "example.com/note": "x" },
    finalizers: ["example.com/cleanup"],
    ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: "0000" }],
    uid: "1234",
    resourceVersion: "1",
    creationTimestamp: null,
  },
  spec: { size: 3 },
});

const cases: { name: string; change: (d: Doc) => void; valid: boolean }[] = [
  { name: "the base document", change: () => {}, valid: true },
  // unknown fields
  { name: "unknown spec field rejected", change: (d) => (d.spec.colour = "red"), valid: false },
  { name: "unknown root field rejected", change: (d) => (d.extra = 1), valid: false },
  {
    name: "unknown field in a list item rejected",
    change: (d) => (d.spec.ports = [{ name: "a", prot: 1 }]),
    valid: false,
  },
  { name: "status is allowed", change: (d) => (d.status = { ready: true }), valid: true },
  // preserve-unknown and maps
  {
    name: "preserve-unknown object stays open",
    change: (d) => (d.spec.config = { anything: { deep: [1, 2] } }),
    valid: true,
  },
  {
    name: "preserve-unknown object still types its listed fields",
    change: (d) => (d.spec.config = { known: 5 }),
    valid: false,
  },
  { name: "map accepts any key", change: (d) => (d.spec.labels = { "any/key": "v" }), valid: true },
  { name: "map values keep their type", change: (d) => (d.spec.labels = { k: 1 }), valid: false },
  // int-or-string
  { name: "int-or-string takes an integer", change: (d) => (d.spec.size = 5), valid: true },
  { name: "int-or-string takes a string", change: (d) => (d.spec.size = "50%"), valid: true },
  { name: "int-or-string rejects a boolean", change: (d) => (d.spec.size = true), valid: false },
  { name: "int-or-string rejects a fraction", change: (d) => (d.spec.size = 1.5), valid: false },
  // nullable
  { name: "nullable string takes null", change: (d) => (d.spec.nickname = null), valid: true },
  { name: "nullable enum takes null", change: (d) => (d.spec.color = null), valid: true },
  { name: "nullable enum keeps its values", change: (d) => (d.spec.color = "green"), valid: false },
  { name: "nullable object takes null", change: (d) => (d.spec.options = null), valid: true },
  {
    name: "nullable object is still closed",
    change: (d) => (d.spec.options = { verbose: true, loud: true }),
    valid: false,
  },
  { name: "a field without nullable rejects null", change: (d) => (d.spec.name = null), valid: false },
  // metadata typed
  { name: "metadata typo rejected", change: (d) => (d.metadata.nmae = "w"), valid: false },
  { name: "label values must be strings", change: (d) => (d.metadata.labels = { n: 1 }), valid: false },
  { name: "annotation values must be strings", change: (d) => (d.metadata.annotations = { n: true }), valid: false },
  {
    name: "ownerReferences need uid",
    change: (d) => (d.metadata.ownerReferences = [{ apiVersion: "v1", kind: "K", name: "n" }]),
    valid: false,
  },
  { name: "metadata.name must be a string", change: (d) => (d.metadata.name = 5), valid: false },
  // apiVersion / kind are fixed
  { name: "another apiVersion rejected", change: (d) => (d.apiVersion = "example.com/v1alpha1"), valid: false },
  { name: "another kind rejected", change: (d) => (d.kind = "Gadget"), valid: false },
  { name: "kind is required", change: (d) => delete d.kind, valid: false },
  // constraints kept
  { name: "required field", change: (d) => delete d.spec.size, valid: false },
  { name: "maximum", change: (d) => (d.spec.replicas = 11), valid: false },
  { name: "minimum", change: (d) => (d.spec.replicas = -1), valid: false },
  { name: "wrong type", change: (d) => (d.spec.replicas = "3"), valid: false },
  { name: "pattern", change: (d) => (d.spec.name = "Bad_Name"), valid: false },
  { name: "minLength", change: (d) => (d.spec.name = ""), valid: false },
  { name: "enum", change: (d) => (d.spec.mode = "Medium"), valid: false },
  { name: "list-type set rejects duplicates", change: (d) => (d.spec.tags = ["a", "a"]), valid: false },
  { name: "maxItems", change: (d) => (d.spec.tags = ["a", "b", "c", "d", "e", "f"]), valid: false },
  { name: "required in list items", change: (d) => (d.spec.ports = [{ port: 80 }]), valid: false },
  { name: "maximum in list items", change: (d) => (d.spec.ports = [{ name: "a", port: 70000 }]), valid: false },
  // oneOf: subschemas constrain declared fields and are not closed themselves
  { name: "oneOf: url only", change: (d) => (d.spec.source = { url: "https://example.com" }), valid: true },
  { name: "oneOf: path only", change: (d) => (d.spec.source = { path: "/x" }), valid: true },
  { name: "oneOf: both", change: (d) => (d.spec.source = { url: "https://example.com", path: "/x" }), valid: false },
  { name: "oneOf: neither", change: (d) => (d.spec.source = {}), valid: false },
  { name: "oneOf: constraint inside a branch", change: (d) => (d.spec.source = { url: "short" }), valid: false },
  {
    name: "oneOf: the object itself is closed",
    change: (d) => (d.spec.source = { url: "https://example.com", extra: 1 }),
    valid: false,
  },
];

describe("convertCrd", () => {
  it("returns every version, with served as the CRD says", () => {
    expect(widgetKinds.map((k) => [k.group, k.version, k.kind, k.served])).toEqual([
      ["example.com", "v1alpha1", "Widget", false],
      ["example.com", "v1", "Widget", true],
    ]);
  });

  it.each(cases)("$name → valid: $valid", ({ change, valid }) => {
    const doc = goodWidget();
    change(doc);
    const ok = validateWidget(doc);
    expect(ok, JSON.stringify(validateWidget.errors)).toBe(valid);
  });

  it("drops prose and Kubernetes extensions, keeps defaults", () => {
    const text = JSON.stringify(widgetV1.schema);
    for (const word of ['"description"', '"example"', "x-kubernetes-", '"nullable"', "has(self.url)"])
      expect(text).not.toContain(word);
    const spec = (widgetV1.schema.properties as JsonSchema).spec as JsonSchema;
    expect((spec.properties as JsonSchema).replicas).toEqual({
      type: "integer",
      format: "int32",
      minimum: 0,
      maximum: 10,
      default: 1,
    });
  });

  it("types metadata with the upstream ObjectMeta", () => {
    const meta = (widgetV1.schema.properties as JsonSchema).metadata as JsonSchema;
    expect(meta.additionalProperties).toBe(false);
    expect(Object.keys(meta.properties as JsonSchema)).toEqual(
      expect.arrayContaining([
        "name",
        "namespace",
        "labels",
        "annotations",
        "generateName",
        "finalizers",
        "ownerReferences",
        "uid",
      ]),
    );
  });

  it("lets an embedded resource carry apiVersion, kind and metadata", () => {
    const embedded = convertNode(
      { type: "object", "x-kubernetes-embedded-resource": true, properties: { spec: { type: "object" } } },
      { listSetUnique: true },
      true,
      "x",
    );
    const validate = ajv.compile(embedded);
    expect(validate({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" }, spec: {} })).toBe(true);
    expect(validate({ apiVersion: "v1", kind: "ConfigMap", extra: 1 })).toBe(false);
  });

  it("refuses schema keywords it does not know, rather than dropping a constraint", () => {
    expect(() =>
      convertNode({ type: "string", contentMediaType: "text/plain" }, { listSetUnique: true }, true, "x"),
    ).toThrow(/unknown schema keyword "contentMediaType"/);
  });
});

describe("convertOpenApiKinds", () => {
  const [ns, cm] = convertOpenApiKinds(coreDoc, ["v1/Namespace", "v1/ConfigMap"], objectMeta);
  const validateNs = ajv.compile(ns!.schema);
  const validateCm = ajv.compile(cm!.schema);

  it("resolves every $ref into a self-contained schema", () => {
    expect([ns!.group, ns!.version, ns!.kind, cm!.kind]).toEqual(["", "v1", "Namespace", "ConfigMap"]);
    expect(JSON.stringify(ns!.schema)).not.toContain("$ref");
    expect(JSON.stringify(cm!.schema)).not.toContain("description");
  });

  it.each([
    {
      name: "namespace",
      doc: { apiVersion: "v1", kind: "Namespace", metadata: { name: "a", labels: { x: "y" } } },
      valid: true,
    },
    {
      name: "namespace with spec",
      doc: { apiVersion: "v1", kind: "Namespace", metadata: { name: "a" }, spec: { finalizers: ["kubernetes"] } },
      valid: true,
    },
    {
      name: "namespace unknown spec field",
      doc: { apiVersion: "v1", kind: "Namespace", metadata: { name: "a" }, spec: { finaliser: [] } },
      valid: false,
    },
    {
      name: "namespace metadata typo",
      doc: { apiVersion: "v1", kind: "Namespace", metadata: { nam: "a" } },
      valid: false,
    },
    {
      name: "namespace apps/v1",
      doc: { apiVersion: "apps/v1", kind: "Namespace", metadata: { name: "a" } },
      valid: false,
    },
  ])("$name → valid: $valid", ({ doc, valid }) => {
    expect(validateNs(doc), JSON.stringify(validateNs.errors)).toBe(valid);
  });

  it.each([
    {
      name: "configmap",
      doc: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" }, data: { k: "v" } },
      valid: true,
    },
    {
      name: "configmap data values are strings",
      doc: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" }, data: { k: 1 } },
      valid: false,
    },
    {
      name: "configmap unknown field",
      doc: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" }, date: {} },
      valid: false,
    },
  ])("$name → valid: $valid", ({ doc, valid }) => {
    expect(validateCm(doc), JSON.stringify(validateCm.errors)).toBe(valid);
  });

  it("says which kind is missing", () => {
    expect(() => convertOpenApiKinds(coreDoc, ["v1/Pod"], objectMeta)).toThrow(/v1\/Pod: not in the OpenAPI document/);
  });

  it("refuses recursive $refs", () => {
    const doc: OpenApiDocument = {
      components: { schemas: { A: { type: "object", properties: { a: { $ref: "#/components/schemas/A" } } } } },
    };
    expect(() =>
      convertNode(
        { $ref: "#/components/schemas/A" },
        { listSetUnique: false, resolveRef: () => doc.components!.schemas!.A as JsonSchema },
        true,
        "A",
      ),
    ).toThrow(/recursive/);
  });
  it("leaves the nested occurrences of an allowed recursive definition open (JSONSchemaProps)", () => {
    const doc: OpenApiDocument = {
      components: {
        schemas: {
          A: { type: "object", properties: { n: { type: "integer" }, a: { $ref: "#/components/schemas/A" } } },
        },
      },
    };
    const s = convertNode(
      { $ref: "#/components/schemas/A" },
      {
        listSetUnique: false,
        openRecursive: ["#/components/schemas/A"],
        resolveRef: () => doc.components!.schemas!.A as JsonSchema,
      },
      true,
      "A",
    );
    expect((s.properties as JsonSchema).n).toEqual({ type: "integer" });
    expect((s.properties as JsonSchema).a).toEqual({});
  });
});

describe("buildSchemaFiles", () => {
  const source = "example.com/widgets@v0.0.1";
  const build = buildSchemaFiles(
    [{ source, crds: [{ file: "widgets.example.com.yaml", crd: widgetCrd }] }],
    [
      {
        source: "k8s.io/kubernetes@v1.35.4",
        docs: [{ file: "core-v1-openapi.json", doc: coreDoc }],
        kinds: ["v1/Namespace"],
      },
    ],
  );

  it("writes one file per served (kind, version) in the kubeconform layout, and unserved.json", () => {
    expect([...build.files.keys()]).toEqual([
      "schemas/kubeconform/example.com/widget_v1.json",
      UNSERVED_FILE,
      "schemas/kubeconform/v1/namespace_v1.json",
    ]);
    expect(build.schemas).toBe(2);
    for (const text of build.files.values()) expect(text.endsWith("}\n") || text.endsWith("]\n")).toBe(true);
  });

  it("records unserved versions", () => {
    const expected: UnservedEntry[] = [
      { group: "example.com", version: "v1alpha1", kind: "Widget", source, served: ["v1"] },
    ];
    expect(build.unserved).toEqual(expected);
    expect(JSON.parse(build.files.get(UNSERVED_FILE)!)).toEqual(expected);
    expect(unservedMessage(build.unserved, "example.com/v1alpha1", "Widget")).toBe(
      "Widget example.com/v1alpha1 is not served by the pinned example.com/widgets@v0.0.1; use example.com/v1",
    );
    expect(unservedMessage(build.unserved, "example.com/v1", "Widget")).toBeUndefined();
    expect(
      unservedMessage(
        [
          {
            group: "infrastructure.cluster.x-k8s.io",
            version: "v1beta1",
            kind: "AWSCluster",
            source: "sigs.k8s.io/cluster-api-provider-aws/v2@v2.13.0",
            served: ["v1beta2"],
          },
        ],
        "infrastructure.cluster.x-k8s.io/v1beta1",
        "AWSCluster",
      ),
    ).toMatch(
      new RegExp(
        String.raw`^AWSCluster infrastructure.cluster.x-k8s.io/v1beta1 is not served by the pinned CAPA ` +
          String.raw`\(sigs.k8s.io/cluster-api-provider-aws/v2@v2.13.0\); use infrastructure.cluster.x-k8s.io/v1beta2$`,
      ),
    );
  });

  it("refuses a kind defined by two sources", () => {
    expect(() =>
      buildSchemaFiles(
        [
          { source: "a@v1", crds: [{ file: "a.yaml", crd: widgetCrd }] },
          { source: "b@v1", crds: [{ file: "b.yaml", crd: widgetCrd }] },
        ],
        [{ source: "k", docs: [{ file: "c.json", doc: coreDoc }], kinds: [] }],
      ),
    ).toThrow(/Widget example.com\/v1 is defined twice: a@v1 a.yaml and b@v1 b.yaml/);
  });

  it("is deterministic", () => {
    const again = buildSchemaFiles(
      [{ source, crds: [{ file: "widgets.example.com.yaml", crd: structuredClone(widgetCrd) }] }],
      [
        {
          source: "k8s.io/kubernetes@v1.35.4",
          docs: [{ file: "core-v1-openapi.json", doc: structuredClone(coreDoc) }],
          kinds: ["v1/Namespace"],
        },
      ],
    );
    expect([...again.files]).toEqual([...build.files]);
    expect(serializeSchema({ b: 1, a: { d: [3, 1], c: 2 } })).toBe(serializeSchema({ a: { c: 2, d: [3, 1] }, b: 1 }));
  });
});

describe("layout", () => {
  it.each([
    ["v1", "Namespace", "schemas/kubeconform/v1/namespace_v1.json"],
    [
      "infrastructure.cluster.x-k8s.io/v1beta2",
      "AWSCluster",
      "schemas/kubeconform/infrastructure.cluster.x-k8s.io/awscluster_v1beta2.json",
    ],
    ["cluster.x-k8s.io/v1beta2", "MachinePool", "schemas/kubeconform/cluster.x-k8s.io/machinepool_v1beta2.json"],
  ])("%s %s → %s", (apiVersion, kind, file) => {
    expect(schemaFile(apiVersion, kind)).toBe(file);
  });

  it("gives kubeconform an absolute template", () => {
    expect(schemaLocation("/repo")).toBe(`/repo/${KUBECONFORM_SCHEMA_TEMPLATE}`);
    expect(KUBECONFORM_SCHEMA_TEMPLATE.endsWith("json")).toBe(true);
  });
});
