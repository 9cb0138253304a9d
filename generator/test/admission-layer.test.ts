/**
 * tools/admission.ts and validate/admission.ts at their edges: JSON lines parsed into types (anything else is a
 * ToolError), exit 2 is a ToolError, one process for all units with results split back per unit, cached results
 * reused, denials → findings with cluster, file, Kind/name:field, rule admission/<stage> and the upstream message.
 */
import { describe, expect, it } from "vitest";
import { ToolError } from "../src/core/errors.js";
import { admissionArgs, parseAdmissionOutput, type AdmissionResult } from "../src/tools/admission.js";
import { admissionFindings, admissionResults, type AdmissionUnit } from "../src/validate/admission.js";
import { run } from "../src/tools/run.js";
import type { K8sObject } from "../src/k8s/object.js";

const obj = (
  kind: string,
  name: string,
  apiVersion = kind.startsWith("AWS") ? "infrastructure.cluster.x-k8s.io/v1beta2" : "cluster.x-k8s.io/v1beta2",
): K8sObject => ({ apiVersion, kind, metadata: { name, namespace: "a" } });
const result = (
  kind: string,
  name: string,
  allowed: boolean,
  stage = "webhook",
  messages: AdmissionResult["messages"] = [],
): AdmissionResult => ({
  apiVersion: "x/v1",
  kind,
  namespace: "a",
  name,
  cluster: "",
  file: "",
  operation: "CREATE",
  allowed,
  stage: stage as AdmissionResult["stage"],
  messages,
});

describe("parseAdmissionOutput", () => {
  it("parses JSON lines", () => {
    const lines = [
      result("Cluster", "a", true),
      result("AWSCluster", "a", false, "webhook", [{ field: "spec.region", message: "Invalid value" }]),
    ]
      .map((r) => JSON.stringify(r))
      .join("\n");
    expect(parseAdmissionOutput(`${lines}\n`)).toHaveLength(2);
  });
  it("anything else is a ToolError", () => {
    expect(() => parseAdmissionOutput("panic: oops\n")).toThrow(ToolError);
    expect(() => parseAdmissionOutput('{"kind":1}\n')).toThrow(ToolError);
  });
  it("arguments: the CAPI and CAPA CRDs of .tools/crds, --old, --disable-stages", () => {
    const a = admissionArgs({ oldFile: "/tmp/p.jsonl", disableStages: ["webhook"] });
    expect(a.filter((x) => x === "--crds")).toHaveLength(2);
    expect(a).toContain("--old");
    expect(a.slice(-2)).toEqual(["--disable-stages", "webhook"]);
  });
});

describe("admissionResults and admissionFindings", () => {
  const units: (AdmissionUnit & { label: string })[] = [
    {
      label: "cluster-a",
      cacheId: "a",
      cluster: "a",
      objects: [obj("Cluster", "a"), obj("AWSCluster", "a")],
      origins: [undefined, "base/cluster/awscluster.yaml"],
      fallbackFile: "clusters/a/kustomization.yaml",
    },
    {
      label: "cluster-b",
      cacheId: "b",
      cluster: "b",
      objects: [obj("ConfigMap", "payload", "v1"), obj("Cluster", "b")],
      origins: [undefined, undefined],
      fallbackFile: "clusters/b/kustomization.yaml",
    },
  ];
  it("one process for every unit, results split back in order; denials become findings", async () => {
    const calls: string[] = [];
    const admit = (input: string) => {
      calls.push(input);
      return Promise.resolve([
        result("Cluster", "a", true),
        result("AWSCluster", "a", false, "webhook", [
          {
            field: "spec.network.subnets[0].cidrBlock",
            message: 'Invalid value: "10.0.0.0/33": subnet CIDR block is invalid',
          },
        ]),
        result("Cluster", "b", false, "decode", []),
      ]);
    };
    const out = await admissionResults(units, { cwd: "/", admit });
    expect(calls).toHaveLength(1);
    // Only CAPI/CAPA objects go to the program; the ConfigMap is "skipped" without it.
    expect(calls[0]!.trim().split("\n")).toHaveLength(3);
    expect(calls[0]).not.toContain("ConfigMap");
    expect(out.get(units[1]!)!.map((r) => `${r.kind} ${r.stage}`)).toEqual(["ConfigMap skipped", "Cluster decode"]);
    expect(admissionFindings(units[0]!, out.get(units[0]!)!)).toEqual([
      {
        cluster: "a",
        file: "base/cluster/awscluster.yaml",
        path: "AWSCluster/a:spec.network.subnets[0].cidrBlock",
        rule: "admission/webhook",
        severity: "error",
        message: 'Invalid value: "10.0.0.0/33": subnet CIDR block is invalid',
      },
    ]);
    expect(admissionFindings(units[1]!, out.get(units[1]!)!)).toMatchObject([
      { cluster: "b", file: "clusters/b/kustomization.yaml", path: "Cluster/b", rule: "admission/decode" },
    ]);
    // Objects kubeconform already rejected are not repeated.
    expect(admissionFindings(units[0]!, out.get(units[0]!)!, new Set(["cluster-a/AWSCluster/a"]))).toEqual([]);
  });
  it("a result count that does not match the input is an error", async () => {
    await expect(admissionResults(units, { cwd: "/", admit: () => Promise.resolve([]) })).rejects.toThrow(/3 objects/);
  });
});

describe("exit 2", () => {
  it("is a ToolError (run's contract that tools/admission.ts relies on: okExitCodes [1])", async () => {
    await expect(
      run("sh", ["-c", "echo bad flag >&2; exit 2"], { cwd: "/", okExitCodes: [1], installHint: "" }),
    ).rejects.toBeInstanceOf(ToolError);
  });
});
