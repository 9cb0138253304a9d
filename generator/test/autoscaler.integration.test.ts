/**
 * The cluster-autoscaler, as the real kustomize renders it: one per cluster with an autoscaled pool, none otherwise,
 * at the cluster's minor (moving with a Kubernetes upgrade), limited to its cluster, with least-privilege RBAC the
 * clusters' AppProject permits; and the rules that keep it so.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { versions } from "../src/pins/versions.js";
import { planRepo } from "../src/plan/repo.js";
import { argoObjects, CLUSTERS_SERVICE_ACCOUNT, fluxObjects } from "../src/plan/sync.js";
import { fluxPermissionFindings } from "../src/validate/sync-check.js";
import { writeTree } from "../src/repo/write.js";
import { kustomizeBuild } from "../src/tools/kustomize.js";
import { parseYamlStream } from "../src/core/yaml.js";
import { SUPPORTED_MINORS } from "../src/cluster-spec/parse.js";
import { planAutoscaler } from "../src/plan/autoscaler.js";
import { parseRepoConfig } from "../src/cluster-spec/config.js";
import type { ClusterSpec } from "../src/cluster-spec/types.js";
import { isGroupKindPermitted } from "../src/validate/argo-project.js";
import { clusterRules } from "../src/validate/rules.js";
import { groupOf } from "../src/k8s/object.js";
import { clusterSpec, fixtureSpecs, tempDir } from "./helpers.js";
import { addonKubernetesVersion } from "../src/plan/addon-version.js";

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: any };

const spec = clusterSpec;
const fixed = spec({ name: "fixed-size", nodePools: [{ name: "a", autoscaling: false, minSize: 2, maxSize: 2 }] });
const old = spec({ name: "upgrade", kubernetesVersion: "v1.33.4", workers: "MachineDeployment" });
const upgraded = spec({ name: "upgrade", kubernetesVersion: "v1.34.2", workers: "MachineDeployment" });
const specs = [...fixtureSpecs(), fixed];
const argocd = () => {
  const r = parseRepoConfig(
    "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\ngitops: argocd\n" +
      "repoURL: https://git.example.com/platform/capi.git\n",
  );
  if (!r.config) throw new Error(JSON.stringify(r.findings));
  return r.config;
};
const rendered = new Map<string, Obj[]>();
let upgradedObjs: Obj[] = [];
const cleanups: (() => Promise<void>)[] = [];

async function build(all: ClusterSpec[], names: string[]): Promise<Map<string, Obj[]>> {
  const t = await tempDir();
  cleanups.push(t.cleanup);
  await writeTree(t.dir, planRepo({ specs: all }, versions()));
  const out = new Map<string, Obj[]>();
  for (const n of names) out.set(n, parseYamlStream(await kustomizeBuild(t.dir, `clusters/${n}`)) as Obj[]);
  return out;
}

beforeAll(async () => {
  for (const [k, v] of await build(
    [...specs, old],
    [...specs, old].map((s) => s.name),
  ))
    rendered.set(k, v);
  upgradedObjs = (await build([upgraded], [upgraded.name])).get(upgraded.name)!;
});
afterAll(async () => {
  for (const c of cleanups) await c();
});

const deployments = (objs: Obj[]) => objs.filter((o) => o.kind === "Deployment" && o.apiVersion === "apps/v1");
const container = (d: Obj) => d.spec.template.spec.containers[0];
const minor = (v: string) => v.replace(/^v/, "").split(".").slice(0, 2).join(".");

describe.each([...specs, old].map((s) => [s.name, s] as [string, ClusterSpec]))(
  "kustomize build clusters/%s",
  (name, s) => {
    const autoscaled = s.nodePools.some((p) => p.autoscaling);
    it(
      autoscaled
        ? "has one cluster-autoscaler at the cluster's minor, limited to it"
        : "has no cluster-autoscaler and none of its RBAC",
      () => {
        const objs = rendered.get(name)!;
        const ds = deployments(objs);
        if (!autoscaled) {
          expect(ds).toEqual([]);
          expect(objs.filter((o) => ["ServiceAccount", "Role", "RoleBinding"].includes(o.kind))).toEqual([]);
          return;
        }
        expect(ds).toHaveLength(1);
        const d = ds[0]!;
        expect(d.metadata.namespace).toBe(s.namespace);
        const c = container(d);
        // The control plane's minor, or the one behind it while a pool is (issue 19 item 6, plan/addon-version.ts).
        const at = minor(addonKubernetesVersion(s));
        // payments-prod (v1.33.4) keeps its pool batch at v1.32.7.
        expect(at).toBe(name === "payments-prod" ? "1.32" : minor(s.kubernetesVersion));
        expect(c.image).toBe(
          `registry.k8s.io/autoscaling/cluster-autoscaler:${versions().clusterAutoscaler.byMinor[at]}`,
        );
        expect(c.image).toMatch(new RegExp(`:v${at.replace(".", "\\.")}\\.\\d+$`));
        expect(c.args).toEqual(
          expect.arrayContaining([
            "--cloud-provider=clusterapi",
            "--clusterapi-cloud-config-authoritative",
            `--node-group-auto-discovery=clusterapi:namespace=${s.namespace},clusterName=${name}`,
            "--kubeconfig=/etc/kubernetes/workload/value",
          ]),
        );
        expect(d.spec.template.spec.volumes).toEqual([
          {
            name: "workload-kubeconfig",
            secret: { secretName: `${name}-kubeconfig`, items: [{ key: "value", path: "value" }] },
          },
        ]);
        // Least privilege: a namespaced Role in the cluster's namespace, bound to the Deployment's ServiceAccount only,
        // no Secrets, no ClusterRole.
        const sa = objs.find((o) => o.kind === "ServiceAccount")!;
        expect(d.spec.template.spec.serviceAccountName).toBe(sa.metadata.name);
        const role = objs.find((o) => o.kind === "Role")!;
        const binding = objs.find((o) => o.kind === "RoleBinding")!;
        for (const o of [sa, role, binding]) expect(o.metadata.namespace).toBe(s.namespace);
        expect(objs.some((o) => o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding")).toBe(false);
        expect(binding.roleRef).toEqual({
          apiGroup: "rbac.authorization.k8s.io",
          kind: "Role",
          name: role.metadata.name,
        });
        expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: sa.metadata.name, namespace: s.namespace }]);
        const resources = role.rules.flatMap((r: { resources: string[] }) => r.resources);
        expect(resources).toEqual(
          expect.arrayContaining([
            "machinepools/scale",
            "machinedeployments/scale",
            "machines",
            "machinesets",
            "awsmachinetemplates",
          ]),
        );
        expect(resources.some((r: string) => r.startsWith("secrets") || r === "*")).toBe(false);
        expect(role.rules.flatMap((r: { verbs: string[] }) => r.verbs)).not.toContain("*");
      },
    );

    it("passes our rules, and every rendered kind is permitted by the clusters' AppProject", () => {
      const objs = rendered.get(name)!;
      const findings = clusterRules(
        { cluster: name, objects: objs, origins: objs.map(() => undefined) },
        `clusters/${name}/kustomization.yaml`,
      );
      expect(findings.filter((f) => f.rule.startsWith("autoscaler"))).toEqual([]);
      const { project } = argoObjects(argocd(), [s]);
      for (const o of objs.filter((x) => x.kind !== "Namespace"))
        expect(
          isGroupKindPermitted(
            project.spec as never,
            { group: groupOf(o.apiVersion), kind: o.kind, name: o.metadata.name },
            true,
          ),
          `${o.kind}`,
        ).toBe(true);
    });
  },
);

describe("the clusters' AppProject", () => {
  it(`permits exactly the added kinds besides the CAPI groups (no Secrets, no cluster-scoped RBAC, \
no other apps kinds)`, () => {
    const { project } = argoObjects(argocd(), specs);
    const allowed = (group: string, kind: string, namespaced = true) =>
      isGroupKindPermitted(project.spec, { group, kind }, namespaced);
    for (const [g, k] of [
      ["", "ConfigMap"],
      ["", "ServiceAccount"],
      ["apps", "Deployment"],
      ["rbac.authorization.k8s.io", "Role"],
      ["rbac.authorization.k8s.io", "RoleBinding"],
      ["addons.cluster.x-k8s.io", "ClusterResourceSet"],
    ])
      expect(allowed(g!, k!), k).toBe(true);
    for (const [g, k] of [
      ["", "Secret"],
      ["apps", "DaemonSet"],
      ["apps", "StatefulSet"],
      ["", "Pod"],
      ["addons.cluster.x-k8s.io", "ClusterResourceSetBinding"],
    ])
      expect(allowed(g!, k!), k).toBe(false);
    for (const [g, k] of [
      ["rbac.authorization.k8s.io", "ClusterRole"],
      ["rbac.authorization.k8s.io", "ClusterRoleBinding"],
    ])
      expect(allowed(g!, k!, false), k).toBe(false);
  });
});

describe("the clusters' Flux Kustomizations", () => {
  const flux = () => {
    const r = parseRepoConfig(
      "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\ngitops: flux\n" +
        "repoURL: https://git.example.com/platform/capi.git\n",
    );
    if (!r.config) throw new Error(JSON.stringify(r.findings));
    const o = fluxObjects(r.config, [...specs, old]);
    return {
      ...o,
      syncObjects: [
        o.source,
        o.bootstrap,
        ...o.kustomizations,
        o.rbac.serviceAccount,
        o.rbac.clusterRole,
        o.rbac.namespacesRole,
        o.rbac.namespacesBinding,
        ...o.rbac.perCluster.flatMap((a) => [a.namespace, a.roleBinding]),
      ] as never[],
    };
  };
  it("apply as a ServiceAccount whose ClusterRole allows every rendered kind, and no Secrets or cluster RBAC", () => {
    const { kustomizations, rbac, syncObjects } = flux();
    for (const k of kustomizations) {
      expect(k.spec.serviceAccountName).toBe(CLUSTERS_SERVICE_ACCOUNT);
      const name = k.spec.path.replace("./clusters/", "");
      expect(
        fluxPermissionFindings(k as never, syncObjects, rendered.get(name)! as never[], { cluster: name, file: "f" }),
        name,
      ).toEqual([]);
    }
    const resources = rbac.clusterRole.rules.flatMap((r) => r.resources);
    for (const r of ["secrets", "clusterroles", "clusterrolebindings", "daemonsets", "pods"])
      expect(resources).not.toContain(r);
    expect(rbac.clusterRole.rules.find((r) => r.apiGroups.includes("apps"))!.resources).toEqual(["deployments"]);
  });
  it("a kind outside the allowed ones is reported (flux-permissions): Flux would fail to apply it", () => {
    const { kustomizations, syncObjects } = flux();
    const objs = [
      ...rendered.get("demo")!,
      { apiVersion: "v1", kind: "Secret", metadata: { name: "x", namespace: "demo" } },
      { apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "y", namespace: "demo" } },
    ];
    const k = kustomizations.find((x) => x.spec.path === "./clusters/demo")!;
    expect(
      fluxPermissionFindings(k as never, syncObjects, objs as never[], { cluster: "demo", file: "f" }).map(
        (f) => f.path,
      ),
    ).toEqual(["Secret/x", "DaemonSet/y"]);
  });
});

describe("the autoscaler pins", () => {
  it("cover every Kubernetes minor the spec accepts, each with a tag of that minor", () => {
    for (let m = SUPPORTED_MINORS.min; m <= SUPPORTED_MINORS.max; m++) {
      const files = planAutoscaler(spec({ name: "pins", kubernetesVersion: `v1.${m}.0` }), versions());
      expect(files.find((f) => f.path.endsWith("/deployment.yaml"))!.content).toMatch(
        new RegExp(`cluster-autoscaler:v1\\.${m}\\.\\d+\\n`),
      );
    }
  });
  it("a minor without a pin is refused with what to do", () => {
    const pins = { ...versions(), clusterAutoscaler: { image: "x", byMinor: {} } };
    expect(() => planAutoscaler(spec({ name: "pins" }), pins)).toThrow(
      /no cluster-autoscaler is pinned for Kubernetes 1\.34.*autoscaling: false/,
    );
    expect(planAutoscaler(spec({ name: "pins", nodePools: [{ name: "a", autoscaling: false }] }), pins)).toEqual([]);
  });
});

describe("a Kubernetes upgrade", () => {
  it("moves the autoscaler to the new minor in the same render", () => {
    const before = container(deployments(rendered.get("upgrade")!)[0]!).image;
    const after = container(deployments(upgradedObjs)[0]!).image;
    expect(before).toMatch(/:v1\.33\./);
    expect(after).toMatch(/:v1\.34\./);
    expect(upgradedObjs.find((o) => o.kind === "KubeadmControlPlane")!.spec.version).toBe("v1.34.2");
  });
});

describe("autoscaler rules on a rendered cluster", () => {
  const rules = (objs: Obj[]) =>
    clusterRules(
      { cluster: "upgrade", objects: objs, origins: objs.map(() => undefined) },
      "clusters/upgrade/kustomization.yaml",
    ).filter((f) => f.rule.startsWith("autoscaler"));
  const withDeployment = (objs: Obj[], edit: (d: Obj) => void) =>
    objs.map((o) => {
      if (o.kind !== "Deployment") return o;
      const d = structuredClone(o);
      edit(d);
      return d;
    });
  it("the autoscaler at another minor than the control plane is an error", () => {
    const objs = withDeployment(
      upgradedObjs,
      (d) => (container(d).image = "registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.5"),
    );
    expect(rules(objs).map((f) => f.rule)).toEqual(["autoscaler-minor"]);
  });
  // --- h-images: issue 19 item 6 ---
  it("one minor behind is accepted while a pool is (between the upgrade's two steps), not otherwise", () => {
    const behind = withDeployment(
      upgradedObjs,
      (d) => (container(d).image = "registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.5"),
    );
    const poolsBehind = behind.map((o) =>
      o.kind === "MachineDeployment"
        ? {
            ...o,
            spec: {
              ...o.spec,
              template: { ...o.spec.template, spec: { ...o.spec.template.spec, version: "v1.33.4" } },
            },
          }
        : o,
    );
    expect(rules(poolsBehind)).toEqual([]);
    const twoBehind = withDeployment(
      poolsBehind,
      (d) => (container(d).image = "registry.k8s.io/autoscaling/cluster-autoscaler:v1.32.7"),
    );
    expect(rules(twoBehind).map((f) => f.rule)).toEqual(["autoscaler-minor"]);
  });
  it("autoscaled pools without an autoscaler is an error; an autoscaler without autoscaled pools a warning", () => {
    expect(rules(upgradedObjs.filter((o) => o.kind !== "Deployment")).map((f) => [f.rule, f.severity])).toEqual([
      ["autoscaler-present", "error"],
    ]);
    const noAnnotations = upgradedObjs.map((o) =>
      o.kind === "MachineDeployment" ? { ...o, metadata: { ...o.metadata, annotations: {} } } : o,
    );
    expect(rules(noAnnotations).map((f) => [f.rule, f.severity])).toEqual([["autoscaler-unused", "warning"]]);
  });
  it("an autoscaler not limited to the cluster, or reaching another cluster's kubeconfig, is an error", () => {
    const unlimited = withDeployment(
      upgradedObjs,
      (d) =>
        (container(d).args = container(d).args.filter((a: string) => !a.startsWith("--node-group-auto-discovery"))),
    );
    expect(rules(unlimited).map((f) => f.rule)).toEqual(["autoscaler-discovery", "autoscaler-present"]);
    const other = withDeployment(
      upgradedObjs,
      (d) => (d.spec.template.spec.volumes[0].secret.secretName = "other-kubeconfig"),
    );
    expect(rules(other).map((f) => f.rule)).toEqual(["autoscaler-kubeconfig"]);
  });
});
