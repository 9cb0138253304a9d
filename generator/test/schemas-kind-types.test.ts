import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { isGroupKind, isKind } from "../src/k8s/kinds.js";
import { KIND_TYPES_FILE, kindDeclarations, kindTypesFile, TYPED_KINDS, typeOf } from "../src/schemas/kind-types.js";
import { schemaFile } from "../src/schemas/layout.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** The committed schema of each typed kind, by its repository-relative path. */
function committedSchemas(): Map<string, string> {
  const schemas = new Map<string, string>();
  for (const [apiVersion, kinds] of Object.entries(TYPED_KINDS)) {
    for (const kind of kinds) {
      const rel = schemaFile(apiVersion, kind);
      schemas.set(rel, readFileSync(path.join(ROOT, rel), "utf8"));
    }
  }
  return schemas;
}

describe("kind types", () => {
  it("the committed kinds.generated.ts is what the committed schemas give (else: npm run schemas)", async () => {
    expect(readFileSync(path.join(ROOT, KIND_TYPES_FILE), "utf8")).toBe(await kindTypesFile(committedSchemas()));
  });

  it("names each shared object shape once, and every kind spells out as the inline printer (typeOf) gives it", () => {
    const schemas = committedSchemas();
    const { kinds, named } = kindDeclarations(schemas);
    expect(named.size).toBeGreaterThan(0);
    const names = [...named.keys()].sort((a, b) => b.length - a.length);
    const ref = new RegExp(`\\b(${names.join("|")})(\\[\\])?(?![A-Za-z0-9_$])`, "g");
    const expand = (t: string): string =>
      t.replace(ref, (_all, name: string, list?: string) => {
        const body = expand(named.get(name) ?? name);
        return list === undefined ? body : `(${body})[]`;
      });
    const bodies = [...named.values()].map(expand);
    expect(new Set(bodies).size).toBe(bodies.length);
    const uses = [...kinds.map((k) => k.out), ...named.values()].join("\n").match(ref) ?? [];
    for (const name of names) expect(uses.filter((u) => u.replace("[]", "") === name).length).toBeGreaterThan(1);
    for (const { apiVersion, kind, out, inline } of kinds) {
      const schema: unknown = JSON.parse(schemas.get(schemaFile(apiVersion, kind)) ?? "{}");
      const props = schema !== null && typeof schema === "object" && "properties" in schema ? schema.properties : {};
      const required: unknown =
        schema !== null && typeof schema === "object" && "required" in schema ? schema.required : [];
      const fields = Object.entries(props ?? {})
        .filter(([name]) => !["apiVersion", "kind", "metadata", "status"].includes(name))
        .map(([name, sub]) => {
          const optional = Array.isArray(required) && required.includes(name) ? "" : "?";
          return `${/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name)}${optional}: ${typeOf(sub)};`;
        });
      const head = [
        `apiVersion: ${JSON.stringify(apiVersion)};`,
        `kind: ${JSON.stringify(kind)};`,
        "metadata: K8sMetadata;",
      ];
      expect(inline).toBe(`{\n${[...head, ...fields].join("\n")}\n}`);
      expect(expand(out)).toBe(inline);
    }
  });

  it("refuses a typed kind without a schema", async () => {
    await expect(kindTypesFile(new Map())).rejects.toThrow(/no schema schemas\/kubeconform\/v1\/configmap_v1.json/);
  });

  it.each([
    [{ type: "string" }, "string"],
    [{ type: ["integer", "string"] }, "number | string"],
    [{ enum: ["a", "b"] }, '"a" | "b"'],
    [{ type: "array", items: { type: "integer" } }, "number[]"],
    [{ type: "array", items: { type: ["integer", "string"] } }, "(number | string)[]"],
    [{ type: "object" }, "Record<string, unknown>"],
    [{ type: "object", additionalProperties: { type: "string" } }, "Record<string, string>"],
    [
      { type: "object", properties: { a: { type: "string" }, "b-c": { type: "boolean" } }, required: ["a"] },
      '{\na: string;\n"b-c"?: boolean;\n}',
    ],
    [{ type: "object", properties: { a: { type: "string" } }, oneOf: [{ required: ["a"] }] }, "{\na?: string;\n}"],
    [{ anyOf: [{ type: "null" }, { type: "string" }] }, "null | string"],
    [{ allOf: [{ type: "string" }, { required: ["x"] }] }, "(string)"],
    [{}, "unknown"],
  ])("types %j as %s", (schema, type) => expect(typeOf(schema)).toBe(type));
});

describe("kind guards", () => {
  const cluster = { apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Cluster", metadata: { name: "a" } };
  it("isKind checks apiVersion (the typed version) and kind", () => {
    expect(isKind(cluster, "cluster.x-k8s.io", "Cluster")).toBe(true);
    expect(isKind({ ...cluster, apiVersion: "cluster.x-k8s.io/v1beta1" }, "cluster.x-k8s.io", "Cluster")).toBe(false);
    expect(isKind(cluster, "cluster.x-k8s.io", "MachinePool")).toBe(false);
    expect(isKind({ ...cluster, metadata: {} }, "cluster.x-k8s.io", "Cluster")).toBe(false);
  });
  it("isGroupKind checks the group at any version", () => {
    expect(isGroupKind({ ...cluster, apiVersion: "cluster.x-k8s.io/v1beta1" }, "cluster.x-k8s.io", "Cluster")).toBe(
      true,
    );
    expect(isGroupKind(cluster, "infrastructure.cluster.x-k8s.io", "Cluster")).toBe(false);
  });
});
