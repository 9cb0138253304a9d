/**
 * tools/health.ts against the real capi-gitops-health (health/): `check` reports a Lua script that does not compile
 * and a CEL expression Flux would not build, keyed per engine; `eval` says what Argo CD and Flux report for v1beta2
 * Clusters; anything but the program's JSON is a ToolError.
 */
import { describe, expect, it } from "vitest";
import { ToolError } from "../src/core/errors.js";
import type { K8sObject } from "../src/k8s/object.js";
import type { HealthChecks } from "../src/plan/health-checks.js";
import { checkHealth, evalHealth, HEALTH, parseHealthOutput } from "../src/tools/health.js";
import { healthUnavailable } from "./helpers/health.js";

const unavailable = healthUnavailable;

const AVAILABLE_LUA = `
local hs = {status = "Progressing", message = "waiting for Available"}
if obj.spec ~= nil and obj.spec.paused then return {status = "Suspended", message = "paused"} end
for _, c in ipairs((obj.status or {}).conditions or {}) do
  if c.type == "Available" and c.status == "True" then hs = {status = "Healthy", message = ""} end
  if c.type == "Available" and c.status == "False" and c.reason == "Failed" then
    hs = {status = "Degraded", message = c.message}
  end
end
return hs
`;

const checks: HealthChecks = {
  argo: { "cluster.x-k8s.io_Cluster": AVAILABLE_LUA },
  flux: [
    {
      apiVersion: "cluster.x-k8s.io/v1beta2",
      kind: "Cluster",
      current: "status.conditions.exists(c, c.type == 'Available' && c.status == 'True')",
      failed: "status.conditions.exists(c, c.type == 'Available' && c.status == 'False' && c.reason == 'Failed')",
    },
  ],
};

const cluster = (name: string, available: string, reason: string, extra: Partial<K8sObject> = {}): K8sObject => ({
  apiVersion: "cluster.x-k8s.io/v1beta2",
  kind: "Cluster",
  metadata: { name, namespace: "fleet" },
  spec: {},
  status: {
    observedGeneration: 1,
    phase: "Provisioned",
    conditions: [{ type: "Available", status: available, reason, message: `${reason} here` }],
  },
  ...extra,
});

describe("parseHealthOutput", () => {
  it("parses result lines and refuses anything else", () => {
    const line = JSON.stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: "a",
      name: "b",
      argo: null,
      flux: { status: "Current", message: "" },
    });
    expect(parseHealthOutput(`${line}\n`)).toHaveLength(1);
    expect(() => parseHealthOutput("not json\n")).toThrow(ToolError);
    expect(() => parseHealthOutput(line.replace('"Current"', '"Ready"'))).toThrow(ToolError);
  });
});

describe.skipIf(unavailable !== undefined)(
  `the ${HEALTH} binary${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    it("check: valid checks have no problems", async () => {
      expect(await checkHealth(checks)).toEqual([]);
    });

    it("check: Lua that does not parse and CEL Flux would not build are problems, keyed per engine", async () => {
      const problems = await checkHealth({
        argo: { ...checks.argo, "cluster.x-k8s.io_Machine": "local hs = {\nreturn hs" },
        flux: [
          { apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Cluster", current: "status.conditions.exists(c," },
          { apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Machine", current: "" },
        ],
      });
      expect(problems.map((p) => [p.engine, p.key])).toEqual([
        ["argo", "cluster.x-k8s.io_Machine"],
        ["flux", "cluster.x-k8s.io/v1beta2/Cluster"],
        ["flux", "cluster.x-k8s.io/v1beta2/Machine"],
      ]);
      expect(problems[2]?.message).toContain("expression Current not specified");
    });

    it("eval: what each engine reports for v1beta2 Clusters, in input order", async () => {
      const results = await evalHealth(checks, [
        cluster("up", "True", "Available"),
        cluster("coming", "False", "NotAvailable"),
        cluster("broken", "False", "Failed"),
        cluster("paused", "False", "NotAvailable", { spec: { paused: true } }),
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm", namespace: "fleet" } },
      ]);
      expect(results.map((r) => [r.name, r.argo?.status ?? null, r.flux.status])).toEqual([
        ["up", "Healthy", "Current"],
        ["coming", "Progressing", "InProgress"],
        ["broken", "Degraded", "Failed"],
        ["paused", "Suspended", "InProgress"],
        ["cm", null, "Current"],
      ]);
      expect(results[2]?.argo?.message).toBe("Failed here");
    });

    it("eval: checks Flux refuses are a ToolError (exit 2), as the Kustomization would stall", async () => {
      await expect(
        evalHealth({ argo: {}, flux: [{ apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Cluster", current: "(" }] }, [
          cluster("up", "True", "Available"),
        ]),
      ).rejects.toThrow(ToolError);
    });
  },
);
