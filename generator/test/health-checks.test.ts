/**
 * The generated health checks (plan/health-checks.ts): every kind's check for both engines; how management/sync
 * delivers them (Argo CD: argocd-cm keys in a folder of their own, synced server-side by capi-gitops-health; Flux:
 * every cluster Kustomization waits with the expressions); what each reports per status shape, through the real
 * capi-gitops-health (Argo CD's Lua runner, Flux's CEL + kstatus); and the validate rules that read them back from
 * the render (health-checks-present, health-checks-valid).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseRepoConfig, type RepoConfig } from "../src/cluster-spec/config.js";
import { ARGO_HEALTH_DIR, SYNC_DIR } from "../src/core/layout.js";
import { parseYamlStream } from "../src/core/yaml.js";
import { get, isK8sObject, type K8sObject, list, record } from "../src/k8s/object.js";
import { pinnedVersions } from "../src/pins/versions.js";
import { goModDownload } from "../src/tools/go.js";
import {
  ARGO_HEALTH_KEY_PREFIX,
  CAPA_FAILURE_REASONS,
  FLUX_STATE,
  HEALTH_KINDS,
  healthChecks,
  type HealthChecks,
} from "../src/plan/health-checks.js";
import { ARGOCD_CM, CLUSTER_WAIT_TIMEOUT, HEALTH_APP_NAME, planSync } from "../src/plan/sync.js";
import { checkHealth, evalHealth } from "../src/tools/health.js";
import { healthPresenceFindings, healthProblemFindings, renderedHealth } from "../src/validate/health-rules.js";
import { fixtureSpecs, ROOT } from "./helpers.js";
import { healthUnavailable } from "./helpers/health.js";

const config = (gitops: "argocd" | "flux"): RepoConfig => {
  const r = parseRepoConfig(
    `apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\n` +
      `repoURL: https://git.example.com/platform/capi.git\nbranch: main\ngitops: ${gitops}\n`,
  );
  if (!r.config) throw new Error(JSON.stringify(r.findings));
  return r.config;
};
const specs = fixtureSpecs();
const KINDS = [
  "cluster.x-k8s.io_Cluster",
  "controlplane.cluster.x-k8s.io_KubeadmControlPlane",
  "cluster.x-k8s.io_MachineDeployment",
  "cluster.x-k8s.io_MachinePool",
  "cluster.x-k8s.io_Machine",
  "cluster.x-k8s.io_MachineHealthCheck",
  "addons.cluster.x-k8s.io_ClusterResourceSet",
  "infrastructure.cluster.x-k8s.io_AWSCluster",
  "infrastructure.cluster.x-k8s.io_AWSMachinePool",
  "infrastructure.cluster.x-k8s.io_AWSMachine",
];

/** The objects of generated files (path → objects; a kustomization.yaml, which has no metadata, under `docs`). */
function objectsOf(gitops: "argocd" | "flux"): Map<string, K8sObject[]> {
  return new Map(
    planSync(config(gitops), specs).map((f) => [f.path, parseYamlStream(f.content).filter(isK8sObject)] as const),
  );
}
const docOf = (gitops: "argocd" | "flux", file: string): unknown =>
  parseYamlStream(planSync(config(gitops), specs).find((f) => f.path === file)?.content ?? "")[0];
/** What `kustomize build management/sync` applies: the files its kustomization lists (no generators, no patches). */
function syncRender(files: Map<string, K8sObject[]>): K8sObject[] {
  const k = docOf(files.has(`${SYNC_DIR}/gitrepository.yaml`) ? "flux" : "argocd", `${SYNC_DIR}/kustomization.yaml`);
  return list(get(k, "resources")).flatMap((r) => files.get(`${SYNC_DIR}/${String(r)}`) ?? []);
}

describe("the checks", () => {
  const checks = healthChecks();
  it("has an Argo CD script for every kind, keyed <group>_<Kind>", () => {
    expect(Object.keys(checks.argo).sort()).toEqual([...KINDS].sort());
    for (const lua of Object.values(checks.argo)) expect(lua).toMatch(/\nreturn verdict\("Progressing", /);
  });
  it("has one Flux entry per kind, with current and failed or inProgress", () => {
    expect(checks.flux.map((e) => `${e.apiVersion.split("/")[0]}_${e.kind}`)).toEqual(KINDS);
    for (const e of checks.flux) {
      expect(e.current).not.toBe("false");
      expect(e.inProgress ?? e.failed).toBeDefined();
    }
  });
  it("never calls a v1beta2 CAPI object with Available healthy by phase or a v1beta1 Ready", () => {
    for (const k of HEALTH_KINDS.filter((h) =>
      ["Cluster", "KubeadmControlPlane", "MachineDeployment"].includes(h.kind),
    )) {
      const healthy = k.rules.filter((r) => r.state === "Healthy");
      expect(healthy).toHaveLength(k.kind === "Cluster" ? 2 : 1);
      expect(JSON.stringify(healthy[0]?.when)).toBe(
        JSON.stringify({ op: "condition", type: "Available", status: "True" }),
      );
    }
    // The Cluster's other Healthy: Available Unknown only through MachinePools without Available, all else True.
    const shape = (prefixes: string[]) => ({ prefixes, suffix: NYR });
    const lines = ["* MachinePool ", "* MachinePools "];
    expect(HEALTH_KINDS.find((k) => k.kind === "Cluster")?.rules.filter((r) => r.state === "Healthy")[1]?.when).toEqual(
      {
        op: "all",
        of: [
          {
            op: "condition",
            type: "Available",
            status: "Unknown",
            shape: shape(lines.map((l) => `* WorkersAvailable:\n  ${l}`)),
          },
          { op: "condition", type: "WorkersAvailable", status: "Unknown", shape: shape(lines) },
          { op: "condition", type: "InfrastructureReady", status: "True" },
          { op: "condition", type: "ControlPlaneAvailable", status: "True" },
          { op: "condition", type: "RemoteConnectionProbe", status: "True" },
        ],
      },
    );
    expect(checks.argo["cluster.x-k8s.io_Cluster"]).not.toContain("phase");
  });
  it("README's table says what Healthy means for each kind, as the code does", async () => {
    const readme = await readFile(path.join(ROOT, "README.md"), "utf8");
    for (const k of HEALTH_KINDS) expect(readme).toContain(`\n| ${k.kind} | ${k.healthy} |`);
  });
  it("maps Suspended to InProgress for Flux", () => expect(FLUX_STATE.Suspended).toBe("InProgress"));
});

describe("CAPA's failure reasons", () => {
  it("are the failure reasons of the pinned CAPA's AWSCluster, AWSMachine and AWSMachinePool conditions", async () => {
    const capa = pinnedVersions().crds["cluster-api-provider-aws"];
    if (!capa) throw new Error("no CAPA pin");
    const dir = await goModDownload(capa.module, capa.version);
    const reasons: string[] = [];
    for (const file of ["api/v1beta2/conditions_consts.go", "exp/api/v1beta2/conditions_consts.go"])
      for (const [, name, value] of (await readFile(path.join(dir, file), "utf8")).matchAll(
        /^\s*(\w+Reason)\s*=\s*"(\w+)"/gm,
      ))
        // The managed kinds (EKS, ROSA, Fargate) are not ours; a failure is a *Failed reason, an instance stopped or
        // terminated outside CAPA, a principal refused, or an unsupported launch template.
        if (
          name !== undefined &&
          value !== undefined &&
          !/^(EKS|Rosa|ROSA|IAM|WaitingForEKS|WaitingForRosa)/.test(name) &&
          /(Failed|Terminated|Stopped|Unauthorized|Unsupported)$/.test(value) &&
          !/Deletion|Release/.test(name)
        )
          reasons.push(value);
    expect(new Set(reasons).size).toBeGreaterThan(25);
    expect([...new Set(reasons)].sort()).toEqual(
      CAPA_FAILURE_REASONS.filter((r) => !/Deletion/.test(r))
        .slice()
        .sort(),
    );
  });
});

describe("delivery through management/sync", () => {
  it("Argo CD: argocd-cm with only the health keys, in its own folder the bootstrap kustomization never lists", () => {
    const files = objectsOf("argocd");
    const cm = files.get(`${ARGO_HEALTH_DIR}/${ARGOCD_CM}.yaml`)?.[0];
    expect(cm?.metadata).toEqual({
      name: "argocd-cm",
      namespace: "argocd",
      annotations: { "argocd.argoproj.io/sync-options": "Prune=false,Delete=false" },
    });
    expect(Object.keys(record(get(cm, "data"))).sort()).toEqual(KINDS.map((k) => ARGO_HEALTH_KEY_PREFIX + k).sort());
    expect(get(docOf("argocd", `${ARGO_HEALTH_DIR}/kustomization.yaml`), "resources")).toEqual(["argocd-cm.yaml"]);
    const synced = syncRender(files);
    expect(synced.some((o) => o.kind === "ConfigMap")).toBe(false);
    const app = synced.find((o) => o.kind === "Application" && o.metadata.name === HEALTH_APP_NAME);
    expect(get(app, "spec.source.path")).toBe(ARGO_HEALTH_DIR);
    expect(get(app, "spec.destination.namespace")).toBe("argocd");
    expect(get(app, "spec.syncPolicy.automated.prune")).toBe(false);
    expect(get(app, "spec.syncPolicy.syncOptions")).toEqual(
      expect.arrayContaining(["ServerSideApply=true", "ClientSideApplyMigration=false"]),
    );
    const project = synced.find((o) => o.kind === "AppProject" && o.metadata.name === get(app, "spec.project"));
    expect(get(project, "spec.namespaceResourceWhitelist")).toContainEqual({ group: "", kind: "ConfigMap" });
  });
  it("Flux: every cluster Kustomization waits, with a timeout and the expressions", () => {
    const files = objectsOf("flux");
    const kustomizations = syncRender(files).filter(
      (o) => o.kind === "Kustomization" && String(get(o, "spec.path")).startsWith("./clusters/"),
    );
    expect(kustomizations).toHaveLength(specs.length);
    for (const k of kustomizations) {
      expect(get(k, "spec.wait")).toBe(true);
      expect(get(k, "spec.timeout")).toBe(CLUSTER_WAIT_TIMEOUT);
      expect(get(k, "spec.healthCheckExprs")).toEqual(healthChecks().flux);
    }
    expect([...files.keys()].some((p) => p.startsWith(ARGO_HEALTH_DIR))).toBe(false);
  });
});

describe("health-checks-present", () => {
  const all = () => true;
  it("is quiet on what generate writes, for both engines", () => {
    for (const engine of ["argocd", "flux"] as const) {
      const files = objectsOf(engine);
      const findings = healthPresenceFindings({
        engine,
        syncObjects: syncRender(files),
        healthObjects: files.get(`${ARGO_HEALTH_DIR}/${ARGOCD_CM}.yaml`) ?? [],
        inScope: all,
      });
      expect(findings).toEqual([]);
    }
  });
  it("fires on a missing Argo CD key, a client-side sync, a missing Application", () => {
    const files = objectsOf("argocd");
    const cm = files.get(`${ARGO_HEALTH_DIR}/${ARGOCD_CM}.yaml`)?.[0];
    const data = record(get(cm, "data"));
    const sync = syncRender(files);
    const cut = { ...cm, data: { ...data, [`${ARGO_HEALTH_KEY_PREFIX}cluster.x-k8s.io_Cluster`]: undefined } };
    const csa = sync.map((o) =>
      o.metadata.name === HEALTH_APP_NAME
        ? { ...o, spec: { ...record(o.spec), syncPolicy: { syncOptions: ["CreateNamespace=false"] } } }
        : o,
    );
    const run = (syncObjects: K8sObject[], healthObjects: unknown[]) =>
      healthPresenceFindings({
        engine: "argocd",
        syncObjects,
        healthObjects: healthObjects.filter(isK8sObject),
        inScope: all,
      });
    expect(run(sync, [cut]).map((f) => f.message)).toEqual([expect.stringContaining("cluster.x-k8s.io_Cluster")]);
    expect(run(csa, [cm]).map((f) => f.message)).toEqual([
      expect.stringContaining("ServerSideApply=true"),
      expect.stringContaining("ClientSideApplyMigration=false"),
    ]);
    expect(
      run(
        sync.filter((o) => o.metadata.name !== HEALTH_APP_NAME),
        [cm],
      ),
    ).toMatchObject([{ rule: "health-checks-present", severity: "error", file: `${SYNC_DIR}/kustomization.yaml` }]);
  });
  it("fires on a Flux cluster Kustomization without wait, timeout or an entry, on that cluster", () => {
    const sync = syncRender(objectsOf("flux"));
    const target = sync.find((o) => String(get(o, "spec.path")).startsWith("./clusters/"));
    const cluster = String(get(target, "spec.path")).replace("./clusters/", "");
    const broken = sync.map((o) =>
      o === target
        ? {
            ...o,
            spec: {
              ...record(o.spec),
              wait: false,
              timeout: undefined,
              healthCheckExprs: healthChecks().flux.filter((e) => e.kind !== "Cluster"),
            },
          }
        : o,
    );
    const findings = healthPresenceFindings({ engine: "flux", syncObjects: broken, healthObjects: [], inScope: all });
    expect(findings.map((f) => [f.cluster, (f.path ?? "").split(":")[1]])).toEqual([
      [cluster, "spec.wait"],
      [cluster, "spec.timeout"],
      [cluster, "spec.healthCheckExprs"],
    ]);
    expect(findings[2]?.message).toContain("cluster.x-k8s.io/Cluster");
    expect(
      healthPresenceFindings({ engine: "flux", syncObjects: broken, healthObjects: [], inScope: (c) => c !== cluster }),
    ).toEqual([]);
  });
  it("reads the checks back from the render: one set for Argo CD, one per distinct Flux list", () => {
    const argo = objectsOf("argocd");
    const [set] = renderedHealth("argocd", syncRender(argo), argo.get(`${ARGO_HEALTH_DIR}/${ARGOCD_CM}.yaml`) ?? []);
    expect(set?.checks).toEqual({ argo: healthChecks().argo, flux: [] });
    const flux = renderedHealth("flux", syncRender(objectsOf("flux")), []);
    expect(flux).toHaveLength(1);
    expect(flux[0]?.checks.flux).toEqual(healthChecks().flux);
  });
  it("places a problem where its key is written", () => {
    const [set] = renderedHealth("flux", syncRender(objectsOf("flux")), []);
    if (!set) throw new Error("no set");
    const [f] = healthProblemFindings(set, [
      { engine: "flux", key: "controlplane.cluster.x-k8s.io/v1beta2/KubeadmControlPlane", message: "bad" },
    ]);
    expect(f).toMatchObject({ rule: "health-checks-valid", severity: "error" });
    expect(f?.file).toBe(`${SYNC_DIR}/clusters/${f?.cluster ?? "?"}.yaml`);
    expect(f?.path ?? "").toMatch(/^Kustomization\/cluster-[^:]+:spec\.healthCheckExprs\[1\]$/);
  });
});

const unavailable = healthUnavailable;

const condition = (type: string, status: string, reason = type, message = "", observedGeneration = 1) => ({
  type,
  status,
  reason,
  message,
  observedGeneration,
  lastTransitionTime: "2026-01-01T00:00:00Z",
});
const object = (
  apiVersion: string,
  kind: string,
  status: Record<string, unknown> | undefined,
  more: {
    generation?: number;
    spec?: Record<string, unknown>;
    annotations?: Record<string, string>;
    deleting?: true;
  } = {},
): K8sObject => ({
  apiVersion,
  kind,
  metadata: {
    name: "x",
    namespace: "fleet",
    ...{ generation: more.generation ?? 1 },
    ...(more.annotations ? { annotations: more.annotations } : {}),
    ...(more.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z", finalizers: ["cluster.cluster.x-k8s.io"] } : {}),
  },
  spec: more.spec ?? {},
  ...(status ? { status } : {}),
});
const CORE = "cluster.x-k8s.io/v1beta2";
const INFRA = "infrastructure.cluster.x-k8s.io/v1beta2";
const available = (s: string, reason = "Available", message = "") => condition("Available", s, reason, message);

/**
 * The messages CAPI v1.13.4's util/conditions writes for a Cluster whose MachinePools report no `Available`
 * (WorkersAvailable, then the Cluster's Available summary), as e2e/health_mpmsg_test.go builds and asserts them.
 */
const NYR = ": Condition Available not yet reported";
const MD_FALSE =
  "* MachineDeployment md-0: 0 available replicas, at least 1 required " +
  "(spec.strategy.rollout.maxUnavailable is 0, spec.replicas is 1)";
const MD_UNKNOWN = "* MachineDeployment md-0: Waiting for spec.replicas set";
const MP_MESSAGES = {
  one: { workers: `* MachinePool pool-0${NYR}`, available: `* WorkersAvailable:\n  * MachinePool pool-0${NYR}` },
  five: {
    workers: `* MachinePools p1, p2, p3, ... (2 more)${NYR}`,
    available: `* WorkersAvailable:\n  * MachinePools p1, p2, p3, ... (2 more)${NYR}`,
  },
  mdUnknown: {
    workers: `${MD_UNKNOWN}\n* MachinePool pool-0${NYR}`,
    available: `* WorkersAvailable:\n  ${MD_UNKNOWN}\n  * MachinePool pool-0${NYR}`,
  },
  mdFalse: {
    workers: `${MD_FALSE}\n* MachinePool pool-0${NYR}`,
    available: `* WorkersAvailable:\n  ${MD_FALSE}\n  * MachinePool pool-0${NYR}`,
  },
};
/** A Cluster whose control plane, infrastructure and connection are fine, with these workers' conditions. */
const clusterWith = (
  workers: { status: string; reason: string; message: string },
  available: { status: string; reason: string; message: string },
  more: { probe?: ReturnType<typeof condition>; controlPlane?: string } = {},
) =>
  object(CORE, "Cluster", {
    observedGeneration: 1,
    phase: "Provisioned",
    conditions: [
      condition("Available", available.status, available.reason, available.message),
      condition("Deleting", "False", "NotDeleting"),
      condition("InfrastructureReady", "True", "Ready"),
      condition("ControlPlaneInitialized", "True", "Initialized"),
      condition("ControlPlaneAvailable", more.controlPlane ?? "True", "Available"),
      more.probe ?? condition("RemoteConnectionProbe", "True", "ProbeSucceeded"),
      condition("WorkersAvailable", workers.status, workers.reason, workers.message),
    ],
  });
const unknownWith = (m: { workers: string; available: string }) =>
  clusterWith(
    { status: "Unknown", reason: "AvailableUnknown", message: m.workers },
    { status: "Unknown", reason: "AvailableUnknown", message: m.available },
  );

/** name, object, Argo CD status, Flux status. */
const TABLE: [string, K8sObject, string, string][] = [
  // v1beta2 Cluster: Provisioned phase and v1beta1 Ready are not enough.
  [
    "Cluster provisioned, not available",
    object(CORE, "Cluster", {
      observedGeneration: 1,
      phase: "Provisioned",
      conditions: [
        available("False", "NotAvailable", "* WorkersAvailable: no"),
        condition("ControlPlaneInitialized", "True", "Initialized"),
        condition("RemoteConnectionProbe", "True", "ProbeSucceeded"),
      ],
      deprecated: { v1beta1: { conditions: [{ type: "Ready", status: "True" }] } },
    }),
    "Progressing",
    "InProgress",
  ],
  [
    "Cluster connecting for the first time",
    object(CORE, "Cluster", {
      observedGeneration: 1,
      conditions: [
        available("False", "NotAvailable"),
        condition("RemoteConnectionProbe", "False", "ProbeFailed", "Remote connection not established yet"),
        condition("ControlPlaneInitialized", "True", "Initialized"),
      ],
    }),
    "Progressing",
    "InProgress",
  ],
  [
    "Cluster available",
    object(CORE, "Cluster", { observedGeneration: 1, conditions: [available("True")] }),
    "Healthy",
    "Current",
  ],
  [
    "Cluster available, rolling out",
    object(CORE, "Cluster", {
      observedGeneration: 1,
      conditions: [available("True"), condition("RollingOut", "True", "RollingOut", "KCP rolling")],
    }),
    "Progressing",
    "InProgress",
  ],
  [
    "Cluster available at an older generation",
    object(CORE, "Cluster", { observedGeneration: 2, conditions: [available("True")] }, { generation: 2 }),
    "Progressing",
    "InProgress",
  ],
  [
    "Cluster paused",
    object(CORE, "Cluster", { observedGeneration: 1, conditions: [available("True")] }, { spec: { paused: true } }),
    "Suspended",
    "InProgress",
  ],
  [
    "Cluster subnet failure mirrored from AWSCluster",
    object(CORE, "Cluster", {
      observedGeneration: 1,
      conditions: [
        condition("InfrastructureReady", "False", "SubnetsReconciliationFailed", "no subnet"),
        available("False", "NotAvailable"),
      ],
    }),
    "Degraded",
    "Failed",
  ],
  [
    "Cluster unreachable after init",
    object(CORE, "Cluster", {
      observedGeneration: 1,
      conditions: [
        condition("ControlPlaneInitialized", "True", "Initialized"),
        condition("RemoteConnectionProbe", "False", "ProbeFailed", "Remote connection probe failed"),
      ],
    }),
    "Degraded",
    "Failed",
  ],
  // CAPI v1.13.4 never sets Available on a MachinePool: a Cluster of MachinePools is healthy when nothing else
  // holds its Available back (the MachinePools' own checks gate the sync), and only then.
  ["Cluster of one MachinePool, all else available", unknownWith(MP_MESSAGES.one), "Healthy", "Current"],
  ["Cluster of five MachinePools, all else available", unknownWith(MP_MESSAGES.five), "Healthy", "Current"],
  [
    "Cluster of MachinePools and a MachineDeployment not available",
    clusterWith(
      { status: "False", reason: "NotAvailable", message: MP_MESSAGES.mdFalse.workers },
      { status: "False", reason: "NotAvailable", message: MP_MESSAGES.mdFalse.available },
    ),
    "Progressing",
    "InProgress",
  ],
  [
    "Cluster of MachinePools and a MachineDeployment with Available Unknown",
    unknownWith(MP_MESSAGES.mdUnknown),
    "Progressing",
    "InProgress",
  ],
  [
    "Cluster of MachinePools, unreachable after init",
    clusterWith(
      { status: "Unknown", reason: "AvailableUnknown", message: MP_MESSAGES.one.workers },
      {
        status: "False",
        reason: "NotAvailable",
        message: `* RemoteConnectionProbe: Remote connection probe failed\n${MP_MESSAGES.one.available}`,
      },
      { probe: condition("RemoteConnectionProbe", "False", "ProbeFailed", "Remote connection probe failed") },
    ),
    "Degraded",
    "Failed",
  ],
  [
    "Cluster of MachinePools, control plane not available",
    clusterWith(
      { status: "Unknown", reason: "AvailableUnknown", message: MP_MESSAGES.one.workers },
      {
        status: "False",
        reason: "NotAvailable",
        message: `* ControlPlaneAvailable: not available\n${MP_MESSAGES.one.available}`,
      },
      { controlPlane: "False" },
    ),
    "Progressing",
    "InProgress",
  ],
  [
    "Cluster of MachinePools whose Available names no other input but ControlPlaneAvailable is not True",
    clusterWith(
      { status: "Unknown", reason: "AvailableUnknown", message: MP_MESSAGES.one.workers },
      { status: "Unknown", reason: "AvailableUnknown", message: MP_MESSAGES.one.available },
      { controlPlane: "Unknown" },
    ),
    "Progressing",
    "InProgress",
  ],
  [
    "Cluster of MachinePools, one reporting an Available of its own that is not True",
    unknownWith({
      workers: `* MachinePool pool-0${NYR}\n* MachinePool pool-1: Waiting for replicas`,
      available: `* WorkersAvailable:\n  * MachinePool pool-0${NYR}\n  * MachinePool pool-1: Waiting for replicas`,
    }),
    "Progressing",
    "InProgress",
  ],
  [
    "Cluster of MachineDeployments with one not available (unchanged)",
    clusterWith(
      { status: "False", reason: "NotAvailable", message: MD_FALSE },
      { status: "False", reason: "NotAvailable", message: `* WorkersAvailable:\n  ${MD_FALSE}` },
    ),
    "Progressing",
    "InProgress",
  ],
  [
    "Cluster of MachineDeployments with Available Unknown (unchanged)",
    unknownWith({ workers: MD_UNKNOWN, available: `* WorkersAvailable:\n  ${MD_UNKNOWN}` }),
    "Progressing",
    "InProgress",
  ],
  [
    "Cluster of MachineDeployments, available (unchanged)",
    clusterWith(
      { status: "True", reason: "Available", message: "" },
      { status: "True", reason: "Available", message: "" },
    ),
    "Healthy",
    "Current",
  ],
  [
    "KubeadmControlPlane scaling up",
    object("controlplane.cluster.x-k8s.io/v1beta2", "KubeadmControlPlane", {
      observedGeneration: 1,
      conditions: [available("True"), condition("ScalingUp", "True")],
    }),
    "Progressing",
    "InProgress",
  ],
  [
    "MachineDeployment available",
    object(CORE, "MachineDeployment", { observedGeneration: 1, conditions: [available("True")] }),
    "Healthy",
    "Current",
  ],
  // The moment after a template change (cluster-api v1.13.4): the new generation observed, Available True and no
  // RollingOut yet (the Machines' UpToDate lags a reconcile), but the new MachineSet has no replica.
  [
    "MachineDeployment just after a template change (no replica of the new template)",
    object(
      CORE,
      "MachineDeployment",
      { observedGeneration: 1, conditions: [available("True")], deprecated: { v1beta1: { updatedReplicas: 1 } } },
      { spec: { replicas: 2 } },
    ),
    "Progressing",
    "InProgress",
  ],
  [
    "MachineDeployment just after a template change (updatedReplicas 0, omitted)",
    object(
      CORE,
      "MachineDeployment",
      { observedGeneration: 1, conditions: [available("True")], deprecated: { v1beta1: { readyReplicas: 1 } } },
      { spec: { replicas: 1 } },
    ),
    "Progressing",
    "InProgress",
  ],
  [
    "MachineDeployment rolled out (every replica of the current template)",
    object(
      CORE,
      "MachineDeployment",
      { observedGeneration: 1, conditions: [available("True")], deprecated: { v1beta1: { updatedReplicas: 2 } } },
      { spec: { replicas: 2 } },
    ),
    "Healthy",
    "Current",
  ],
  [
    "MachinePool ready (v1beta1, no Available in CAPI v1.13)",
    object(CORE, "MachinePool", {
      observedGeneration: 1,
      phase: "Running",
      deprecated: { v1beta1: { conditions: [{ type: "Ready", status: "True" }] } },
    }),
    "Healthy",
    "Current",
  ],
  [
    "MachinePool launch template rejected",
    object(CORE, "MachinePool", {
      observedGeneration: 1,
      phase: "Provisioning",
      deprecated: {
        v1beta1: {
          conditions: [
            { type: "InfrastructureReady", status: "False", severity: "Error", reason: "LaunchTemplateCreateFailed" },
          ],
        },
      },
    }),
    "Degraded",
    "Failed",
  ],
  [
    "Machine found unhealthy by a MachineHealthCheck",
    object(CORE, "Machine", {
      observedGeneration: 1,
      conditions: [available("True"), condition("HealthCheckSucceeded", "False", "UnhealthyNode")],
    }),
    "Degraded",
    "Failed",
  ],
  [
    "MachineHealthCheck with more machines not healthy than allowed (starting machines count): held, not failed",
    object(CORE, "MachineHealthCheck", {
      observedGeneration: 1,
      conditions: [condition("RemediationAllowed", "False", "TooManyUnhealthy")],
    }),
    "Progressing",
    "InProgress",
  ],
  [
    "ClusterResourceSet not applied (observedGeneration not written on failure)",
    object("addons.cluster.x-k8s.io/v1beta2", "ClusterResourceSet", {
      conditions: [condition("ResourcesApplied", "False", "NotApplied", "Failed to apply")],
    }),
    "Degraded",
    "Failed",
  ],
  [
    "ClusterResourceSet matching no cluster yet",
    object("addons.cluster.x-k8s.io/v1beta2", "ClusterResourceSet", { observedGeneration: 1 }),
    "Progressing",
    "InProgress",
  ],
  [
    "AWSCluster subnet error",
    object(INFRA, "AWSCluster", {
      ready: false,
      conditions: [{ type: "SubnetsReady", status: "False", severity: "Error", reason: "SubnetsReconciliationFailed" }],
    }),
    "Degraded",
    "Failed",
  ],
  [
    "AWSCluster ready",
    object(INFRA, "AWSCluster", { ready: true, conditions: [{ type: "Ready", status: "True" }] }),
    "Healthy",
    "Current",
  ],
  [
    "AWSMachine pending",
    object(INFRA, "AWSMachine", {
      ready: false,
      instanceState: "pending",
      conditions: [{ type: "Ready", status: "False", severity: "Warning", reason: "InstanceNotReady" }],
    }),
    "Progressing",
    "InProgress",
  ],
  [
    "AWSMachine terminated outside CAPA",
    object(INFRA, "AWSMachine", { ready: false, instanceState: "terminated", failureReason: "UpdateError" }),
    "Degraded",
    "Failed",
  ],
  [
    "AWSMachinePool paused",
    object(INFRA, "AWSMachinePool", { ready: true }, { annotations: { "cluster.x-k8s.io/paused": "" } }),
    "Suspended",
    "InProgress",
  ],
];

describe.skipIf(unavailable !== undefined)("what each engine reports (capi-gitops-health)", () => {
  it("every script parses and every expression compiles", async () => {
    expect(await checkHealth(healthChecks())).toEqual([]);
  });
  it("reports each status shape as intended, the same in both engines", async () => {
    const results = await evalHealth(
      healthChecks(),
      TABLE.map(([, o]) => o),
    );
    expect(results.map((r, i) => [TABLE[i]?.[0], r.argo?.status, r.flux.status])).toEqual(
      TABLE.map(([name, , argo, flux]) => [name, argo, flux]),
    );
  });
  it("negative control: without our checks, a provisioned unavailable Cluster is healthy", async () => {
    const provisioned = TABLE[0]?.[1];
    if (!provisioned) throw new Error("no row");
    const withoutOurs = { argo: {}, flux: [] };
    // Without our checks: Argo CD's shipped script (argo-cd v3.5.7) and Flux's kstatus fallback.
    const [builtin] = await evalHealth(withoutOurs, [provisioned], { argoBuiltin: true });
    const [ours] = await evalHealth(healthChecks(), [provisioned]);
    expect([builtin?.argo?.status, builtin?.flux.status]).toEqual(["Healthy", "Current"]);
    expect([ours?.argo?.status, ours?.flux.status]).toEqual(["Progressing", "InProgress"]);
  });
  it("health-checks-valid fires on a Lua that does not parse and a CEL that does not compile", async () => {
    const good = healthChecks();
    const broken: HealthChecks = {
      argo: { ...good.argo, "cluster.x-k8s.io_Cluster": "if then end" },
      flux: good.flux.map((e) => (e.kind === "MachinePool" ? { ...e, current: "status.conditions.exists(c," } : e)),
    };
    for (const engine of ["argocd", "flux"] as const) {
      const [set] =
        engine === "argocd"
          ? renderedHealth(
              engine,
              [],
              [
                {
                  apiVersion: "v1",
                  kind: "ConfigMap",
                  metadata: { name: ARGOCD_CM, namespace: "argocd" },
                  data: Object.fromEntries(
                    Object.entries(broken.argo).map(([k, v]) => [ARGO_HEALTH_KEY_PREFIX + k, v]),
                  ),
                },
              ],
            )
          : renderedHealth(
              engine,
              [
                {
                  apiVersion: "kustomize.toolkit.fluxcd.io/v1",
                  kind: "Kustomization",
                  metadata: { name: "cluster-demo", namespace: "flux-system" },
                  spec: { path: "./clusters/demo", healthCheckExprs: broken.flux },
                },
              ],
              [],
            );
      if (!set) throw new Error("no set");
      const findings = healthProblemFindings(set, await checkHealth(set.checks));
      expect(findings).toHaveLength(1);
      expect(findings[0]).toMatchObject({
        rule: "health-checks-valid",
        path:
          engine === "argocd"
            ? `ConfigMap/${ARGOCD_CM}:data.${ARGO_HEALTH_KEY_PREFIX}cluster.x-k8s.io_Cluster`
            : "Kustomization/cluster-demo:spec.healthCheckExprs[3]",
      });
    }
  });
});
