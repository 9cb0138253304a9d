/**
 * `import`, the pure second half: the fields kept by the mapping (import/map.ts) → strategic-merge patches on the
 * rendered objects of the parsed spec (names from plan/cluster.ts `objectNames`; hash-named ones as a pattern), the
 * cluster's own kustomization.yaml, and the plan that lands it. No fs, no processes.
 */
import path from "node:path";
import type { ClusterSpec } from "../cluster-spec/types.js";
import { quote } from "../core/findings.js";
import { API, GROUP } from "../k8s/capi.js";
import { get, isRecord } from "../k8s/object.js";
import { objectNames } from "../plan/cluster.js";
import { scaffold, type TreePlan } from "../plan/files.js";
import { KUSTOMIZATION, type Patch } from "../plan/kustomize-objects.js";
import { planNewCluster, type RepoModel } from "../plan/repo.js";
import { clusterKustomizationPath } from "../core/layout.js";
import type { Pins } from "../pins/versions.js";
import { toYaml, toYamlInline } from "../core/yaml.js";
import { clone, type KeptField, put, type ReportEntry, type Role } from "./map.js";

type Rec = Record<string, unknown>;

/**
 * The rendered objects a role stands for: API group and version, kind, and names (hash-named ones as a pattern, which
 * kustomize anchors).
 */
function targetOf(
  spec: ClusterSpec,
  k: { role: Role; pool?: string },
): { group: string; apiVersion: string; kind: string; names: string[] } {
  const names = objectNames(spec);
  const pool = spec.nodePools.find((x) => x.name === k.pool);
  const hashed = (prefix: string) => `${prefix}-[0-9a-f]{8}`;
  const poolName = pool ? names.pool(pool) : "";
  const t = (group: keyof typeof API, kind: string, ...n: string[]) => ({
    group: GROUP[group],
    apiVersion: API[group],
    kind,
    names: n,
  });
  switch (k.role) {
    case "Cluster":
      return t("core", "Cluster", names.cluster);
    case "AWSCluster":
      return t("infra", "AWSCluster", names.cluster);
    case "KubeadmControlPlane":
      return t("controlPlane", "KubeadmControlPlane", names.controlPlane);
    case "ControlPlaneTemplate":
      return t("infra", "AWSMachineTemplate", hashed(names.controlPlane));
    case "MachinePool":
      return t("core", "MachinePool", poolName);
    case "AWSMachinePool":
      return t("infra", "AWSMachinePool", poolName);
    case "KubeadmConfig":
      return t("bootstrap", "KubeadmConfig", hashed(poolName));
    case "MachineDeployment":
      return t(
        "core",
        "MachineDeployment",
        ...(pool ? pool.availabilityZones.map((z) => names.zoneDeployment(pool, z)) : []),
      );
    case "AWSMachineTemplate":
      return t("infra", "AWSMachineTemplate", hashed(poolName));
    case "KubeadmConfigTemplate":
      return t("bootstrap", "KubeadmConfigTemplate", hashed(poolName));
  }
}

const valueAt = (o: unknown, keys: readonly string[]): unknown =>
  keys.reduce<unknown>((v, k) => (isRecord(v) ? v[k] : undefined), o);
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * The kept fields → the patches of the cluster's own kustomization.yaml (one strategic-merge patch per rendered
 * object or name pattern) and their report lines. With the render of the cluster without patches (`rendered`), a
 * field the render already has, on every object it lands on, needs no patch and is reported as mapped.
 */
export function settleKept(
  spec: ClusterSpec,
  kept: readonly KeptField[],
  rendered?: readonly Rec[],
): { patches: Patch[]; report: ReportEntry[] } {
  const report: ReportEntry[] = [];
  const bodies = new Map<string, { role: Role; pool?: string; body: Rec }>();
  for (const k of kept) {
    const t = targetOf(spec, k);
    const field = k.keys.join(".");
    const on = `the ${t.kind}${k.pool ? ` of pool ${k.pool}` : ""}`;
    if (rendered) {
      const targets = rendered.filter(
        (o) => o.kind === t.kind && t.names.some((n) => new RegExp(`^(?:${n})$`).test(String(get(o, "metadata.name")))),
      );
      if (targets.length && targets.every((o) => same(valueAt(o, k.keys), k.value))) {
        report.push({ action: "mapped", source: k.source, field, detail: `${quote(k.value)}: ${on} already has it` });
        continue;
      }
    }
    const key = `${k.role}/${k.pool ?? ""}`;
    const entry = bodies.get(key) ?? { role: k.role, pool: k.pool, body: {} };
    bodies.set(key, entry);
    put(entry.body, k.keys, clone(k.value));
    report.push({
      action: "patch",
      source: k.source,
      field,
      detail: `${quote(k.value)} → kustomization.yaml patch on ${on} (${k.why})`,
    });
  }
  const patches = [...bodies.values()].flatMap((p) => {
    const t = targetOf(spec, p);
    const { metadata, ...rest } = p.body;
    return t.names.map((name) => ({
      target: { group: t.group, kind: t.kind, name },
      patch: toYamlInline({
        apiVersion: t.apiVersion,
        kind: t.kind,
        metadata: { name: name.replace("-[0-9a-f]{8}", ""), ...(isRecord(metadata) ? metadata : {}) },
        ...rest,
      }),
    }));
  });
  return { patches, report };
}

/**
 * The cluster's own kustomization.yaml as import writes it: the generated overlay and the patches that keep the rest.
 */
export function importKustomization(patches: readonly Patch[], source: string): string {
  return toYaml(
    { ...KUSTOMIZATION, resources: ["generated"], patches },
    [
      "# The cluster's own Kustomize layer: yours to edit (`npm run generate` never overwrites it).",
      `# Imported from ${path.basename(source)} by \`npm run import\`: the patches below keep what ` +
        "cluster.yaml cannot say.",
      "# Hash-named templates are matched by a name pattern; a patched field does not change their names, so editing",
      "# a patch here rolls no machines (change cluster.yaml, or rename the template, to roll them).",
    ].join("\n"),
  );
}

/**
 * `import`'s plan: new-cluster's (the cluster folder, missing shared files, the sync entry) with its own
 * kustomization.yaml.
 */
export function planImportedCluster(spec: ClusterSpec, kustomization: string, model: RepoModel, pins: Pins): TreePlan {
  const plan = planNewCluster(spec, model, pins);
  const own = clusterKustomizationPath(spec.name);
  return { ...plan, files: plan.files.map((f) => (f.path === own ? scaffold(own, kustomization) : f)) };
}
