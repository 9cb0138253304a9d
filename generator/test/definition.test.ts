/** The one definition per edited document (cluster-spec/definition.ts): schema, type and defaults derive from it. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { Type } from "@sinclair/typebox";
import { describe, expect, it } from "vitest";
import { editorSchema, filled, fillDefaults } from "../src/cluster-spec/definition.js";
import { parseRepoConfig, repoConfigSchema } from "../src/cluster-spec/config.js";
import { applyDefaults } from "../src/cluster-spec/parse.js";
import { clusterSpecSchema } from "../src/cluster-spec/schema.js";
import { ClusterSpecDefinition } from "../src/cluster-spec/types.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const committed = (file: string) => JSON.parse(readFileSync(path.join(ROOT, "schemas", file), "utf8")) as unknown;
const base = { apiVersion: "capi-gitops.io/v1alpha1", kind: "ClusterSpec", name: "demo", region: "ap-northeast-2" };

describe("editorSchema", () => {
  it("is the committed editor schema, key order included", () => {
    expect(JSON.stringify(clusterSpecSchema)).toBe(JSON.stringify(committed("cluster-spec.schema.json")));
    expect(JSON.stringify(repoConfigSchema)).toBe(JSON.stringify(committed("repo-config.schema.json")));
  });
  it("puts the header first and type first in every schema object, and drops the fill functions", () => {
    const t = Type.Object(
      { a: filled(Type.Optional(Type.String({ pattern: "^x$", description: "d" })), () => "x") },
      { additionalProperties: false },
    );
    const s = editorSchema({ $schema: "s", title: "t" }, t);
    expect(Object.keys(s)).toEqual(["$schema", "title", "type", "additionalProperties", "properties"]);
    const a = (s.properties as Record<string, object>).a ?? {};
    expect(Object.keys(a)).toEqual(["type", "pattern", "description"]);
    expect(Object.getOwnPropertySymbols(a)).toEqual([]);
  });
});

describe("fillDefaults", () => {
  const t = Type.Object({
    a: Type.String(),
    b: Type.Optional(Type.String({ default: "B" })),
    c: filled(Type.Optional(Type.String()), (parent) => `${String(parent.a)}-${String(parent.b)}`),
    o: Type.Optional(
      Type.Object({
        x: Type.Optional(Type.Integer({ default: 1 })),
        y: filled(Type.Optional(Type.Integer()), (_, root) => (root.a === "a" ? 2 : 3)),
      }),
    ),
    list: Type.Optional(Type.Array(Type.Object({ n: Type.Optional(Type.Boolean({ default: true })) }))),
    none: Type.Optional(Type.String()),
  });
  it.each([
    [{ a: "a" }, { a: "a", b: "B", c: "a-B", o: { x: 1, y: 2 }, list: undefined, none: undefined }],
    [
      { a: "z", b: "q", c: "given" },
      { a: "z", b: "q", c: "given", o: { x: 1, y: 3 }, list: undefined, none: undefined },
    ],
    [
      { a: "a", o: { x: 5 }, list: [{}, { n: false }] },
      { a: "a", b: "B", c: "a-B", o: { x: 5, y: 2 }, list: [{ n: true }, { n: false }], none: undefined },
    ],
  ])("fills %j", (input, expected) => {
    const before = structuredClone(input);
    const out = fillDefaults(t, input) as Record<string, unknown>;
    expect(out).toStrictEqual(expected);
    expect(Object.keys(out)).toEqual(Object.keys(t.properties));
    expect(input).toStrictEqual(before);
  });
});

describe("the cluster spec's defaults derive from its definition", () => {
  it("fills every field but the ones without a default, in the definition's order", () => {
    const spec = applyDefaults(base) as unknown as Record<string, unknown>;
    expect(Object.keys(spec)).toEqual(Object.keys(ClusterSpecDefinition.properties));
    const unset = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] === undefined);
    // image: CAPA's public images unless set (a pool's: the cluster's); apiServer.allowedCidrs: CAPA's 0.0.0.0/0;
    // identity: the controller's own account; bastion: only with access: bastion;
    // rollout: the last ring capi-gitops.yaml declares (cluster-spec/rollout.ts), which the spec alone cannot know.
    expect(unset(spec)).toEqual(["image", "identity", "bastion", "sshKeyName", "rollout"]);
    const pool = (spec.nodePools as Record<string, unknown>[])[0]!;
    // taints: a GPU pool's default only; the capacity fields: on-demand when absent.
    expect(unset(pool)).toEqual([
      "replicas",
      "kubernetesVersion",
      "image",
      "capacityType",
      "instanceTypes",
      "spotMaxPrice",
      "onDemandBase",
      "onDemandPercentageAboveBase",
      "spotAllocationStrategy",
      "taints",
    ]);
    expect(unset(spec.controlPlane as Record<string, unknown>)).toEqual([]);
    expect(unset(spec.network as Record<string, unknown>)).toEqual([]);
    expect(unset(spec.apiServer as Record<string, unknown>)).toEqual([
      "allowedCidrs",
      "managementConnection",
      "managementReachAcknowledged",
    ]);
  });
  it("repository config: every default from the schema, secretRef only when written", () => {
    const r = parseRepoConfig(
      "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\nrepoURL: https://git.example.com/x.git\n",
    );
    expect(r.config).toStrictEqual({
      apiVersion: "capi-gitops.io/v1alpha1",
      kind: "RepositoryConfig",
      repoURL: "https://git.example.com/x.git",
      branch: "main",
      gitops: "argocd",
      argocd: { namespace: "argocd", project: "capi-clusters", destinationServer: "https://kubernetes.default.svc" },
      flux: { namespace: "flux-system", gitRepository: "capi-gitops", interval: "5m", secretRef: undefined },
      rollout: { rings: [{ name: "main", maxUpdate: undefined }] },
    });
  });
});
