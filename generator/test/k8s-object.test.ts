import { describe, expect, it } from "vitest";
import { arrAt, boolAt, get, isK8sObject, numAt, recAt, recsAt, strAt, strsAt } from "../src/k8s/object.js";

const o = {
  apiVersion: "cluster.x-k8s.io/v1beta2",
  kind: "MachinePool",
  metadata: { name: "p", labels: { "capi-gitops.io/node-pool": "a" } },
  spec: {
    replicas: 2,
    paused: false,
    template: { spec: { version: "v1.34.2" } },
    zones: ["a", 1, "b"],
    resources: [{ name: "x" }, null, "y"],
  },
};

describe("typed accessors", () => {
  it.each([
    ["strAt", strAt(o, "spec.template.spec.version"), "v1.34.2"],
    ["strAt, not a string", strAt(o, "spec.replicas"), undefined],
    ["strAt, through a non-object", strAt(o, "spec.replicas.x"), undefined],
    ["numAt", numAt(o, "spec.replicas"), 2],
    ["numAt, not a number", numAt(o, "spec.template"), undefined],
    ["boolAt", boolAt(o, "spec.paused"), false],
    ["boolAt, absent", boolAt(o, "spec.suspend"), undefined],
    ["recAt", recAt(o, "spec.template.spec"), { version: "v1.34.2" }],
    ["recAt, a list is no mapping", recAt(o, "spec.zones"), undefined],
    ["arrAt", arrAt(o, "spec.zones"), ["a", 1, "b"]],
    ["arrAt, not a list", arrAt(o, "spec.replicas"), undefined],
    ["recsAt skips what is no mapping", recsAt(o, "spec.resources"), [{ name: "x" }]],
    ["recsAt, absent", recsAt(o, "spec.none"), []],
    ["strsAt skips what is no string", strsAt(o, "spec.zones"), ["a", "b"]],
    ["get on a non-object", get("text", "length"), undefined],
  ])("%s", (_name, got, want) => expect(got).toEqual(want));
});

describe("isK8sObject", () => {
  it("accepts apiVersion, kind and metadata.name as strings", () => expect(isK8sObject(o)).toBe(true));
  it.each([
    ["no metadata", { apiVersion: "v1", kind: "Namespace" }],
    ["no name", { apiVersion: "v1", kind: "Namespace", metadata: {} }],
    ["a label that is no string", { apiVersion: "v1", kind: "Namespace", metadata: { name: "a", labels: { x: 1 } } }],
    ["a spec that is no mapping", { apiVersion: "v1", kind: "Namespace", metadata: { name: "a" }, spec: [] }],
    ["no kind", { apiVersion: "v1", metadata: { name: "a" } }],
  ])("refuses %s", (_name, v) => expect(isK8sObject(v)).toBe(false));
});
