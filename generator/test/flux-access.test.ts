/**
 * Flux's access, scoped like Argo CD's AppProject (plan/sync.ts fluxAccess): the clusters' ServiceAccount may write
 * only in the clusters' namespaces (RoleBindings there), never bind or escalate, never create or delete a namespace;
 * and validate's flux-permissions check decides as the RBAC authorizer would. The API server's own verdict is in
 * e2e/rbac_test.go (`npm run e2e`).
 */
import { describe, expect, it } from "vitest";
import { parseRepoConfig } from "../src/cluster-spec/config.js";
import { CLUSTERS_NAMESPACES_ROLE, CLUSTERS_SERVICE_ACCOUNT, fluxObjects, planSync } from "../src/plan/sync.js";
import { fluxPermissionFindings } from "../src/validate/sync-check.js";
import type { K8sObject } from "../src/k8s/object.js";
import { parseYamlStream } from "../src/core/yaml.js";
import { clusterSpec } from "./helpers.js";

const spec = clusterSpec;
const specs = [spec({ name: "one" }), spec({ name: "two", namespace: "team-two" })];
const config = () => {
  const r = parseRepoConfig(
    "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\ngitops: flux\n" +
      "repoURL: https://git.example.com/platform/capi.git\n",
  );
  if (!r.config) throw new Error(JSON.stringify(r.findings));
  return r.config;
};
/** Every object of management/sync as planSync writes it (the files parsed back). */
type Obj = K8sObject & { metadata: { annotations: Record<string, string> }; [k: string]: any };
const syncObjects = (s = specs): Obj[] =>
  planSync(config(), s)
    .filter((f) => f.path.endsWith(".yaml") && !f.path.endsWith("kustomization.yaml"))
    .flatMap((f) => parseYamlStream(f.content) as Obj[]);
const RBAC = "rbac.authorization.k8s.io/v1";

describe("Flux: the clusters' ServiceAccount", () => {
  it("is bound cluster-wide only to reading namespaces and patching the clusters' own", () => {
    const objs = syncObjects();
    const crbs = objs.filter((o) => o.kind === "ClusterRoleBinding");
    expect(crbs.map((b) => b.roleRef.name)).toEqual([CLUSTERS_NAMESPACES_ROLE]);
    const role = objs.find((o) => o.kind === "ClusterRole" && o.metadata.name === CLUSTERS_NAMESPACES_ROLE)!;
    expect(role.rules).toEqual([
      { apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "watch"] },
      { apiGroups: [""], resources: ["namespaces"], resourceNames: ["one", "team-two"], verbs: ["patch", "update"] },
    ]);
  });

  it("without clusters, patches no namespace (an empty resourceNames would mean all)", () => {
    const role = syncObjects([]).find((o) => o.kind === "ClusterRole" && o.metadata.name === CLUSTERS_NAMESPACES_ROLE)!;
    expect(role.rules.some((r: { verbs: string[] }) => r.verbs.includes("patch"))).toBe(false);
  });

  it(`writes only through a RoleBinding in each cluster's namespace, which the sync layer creates (never pruned, \
never patched)`, () => {
    const objs = syncObjects();
    const rbs = objs.filter((o) => o.kind === "RoleBinding");
    expect(rbs.map((b) => `${b.metadata.namespace} ${b.roleRef.kind}/${b.roleRef.name}`)).toEqual([
      "one ClusterRole/capi-gitops-clusters",
      "team-two ClusterRole/capi-gitops-clusters",
    ]);
    for (const b of rbs)
      expect(b.subjects).toEqual([
        { kind: "ServiceAccount", name: CLUSTERS_SERVICE_ACCOUNT, namespace: "flux-system" },
      ]);
    const nss = objs.filter((o) => o.kind === "Namespace");
    expect(nss.map((n) => n.metadata.name)).toEqual(["one", "team-two"]);
    for (const n of nss) {
      expect(n.metadata.annotations["kustomize.toolkit.fluxcd.io/prune"]).toBe("disabled");
      expect(n.metadata.annotations["kustomize.toolkit.fluxcd.io/ssa"]).toBe("IfNotPresent");
    }
  });

  it("never binds, escalates, impersonates, uses `*` verbs, reads Secrets or deletes a namespace", () => {
    const rules = syncObjects()
      .filter((o) => o.kind === "ClusterRole" || o.kind === "Role")
      .flatMap((r) => r.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]);
    for (const r of rules) {
      for (const v of ["*", "bind", "escalate", "impersonate", "deletecollection"]) expect(r.verbs).not.toContain(v);
      expect(r.resources).not.toContain("secrets");
      if (r.resources.includes("namespaces")) for (const v of ["create", "delete"]) expect(r.verbs).not.toContain(v);
    }
  });

  it("each cluster's Kustomization puts every namespaced object in the cluster's namespace (targetNamespace)", () => {
    const { kustomizations } = fluxObjects(config(), specs);
    expect(kustomizations.map((k) => [k.spec.serviceAccountName, k.spec.targetNamespace])).toEqual([
      [CLUSTERS_SERVICE_ACCOUNT, "one"],
      [CLUSTERS_SERVICE_ACCOUNT, "team-two"],
    ]);
  });
});

describe("validate's flux-permissions decides as RBAC would", () => {
  const objs = syncObjects();
  const kustomization = (name: string, opts: { noTargetNamespace?: true } = {}) => {
    const k = objs.find((o) => o.kind === "Kustomization" && o.metadata.name === `cluster-${name}`)!;
    return opts.noTargetNamespace ? { ...k, spec: { ...k.spec, targetNamespace: undefined } } : k;
  };
  const at = (o: K8sObject[], k = kustomization("one")) =>
    fluxPermissionFindings(k, objs, o, { cluster: "one", file: "f" }).map((f) => f.path);
  const obj = (apiVersion: string, kind: string, name: string, namespace?: string): K8sObject => ({
    apiVersion,
    kind,
    metadata: { name, namespace },
  });

  it("its own namespace and the kinds the sync layer permits there pass", () => {
    expect(
      at([
        obj("v1", "Namespace", "one"),
        obj("apps/v1", "Deployment", "d", "one"),
        obj(RBAC, "RoleBinding", "b", "one"),
        obj("cluster.x-k8s.io/v1beta2", "Cluster", "one", "one"),
      ]),
    ).toEqual([]);
  });
  it("without targetNamespace, a Deployment in kube-system or another cluster's namespace is refused", () => {
    expect(
      at([obj("apps/v1", "Deployment", "planted", "kube-system")], kustomization("one", { noTargetNamespace: true })),
    ).toEqual(["Deployment/planted"]);
  });
  it("with targetNamespace, the same Deployment lands in the cluster's namespace (allowed there)", () => {
    expect(at([obj("apps/v1", "Deployment", "planted", "kube-system")])).toEqual([]);
  });
  it("another namespace object, cluster RBAC and Secrets are refused", () => {
    expect(
      at([
        obj("v1", "Namespace", "kube-system"),
        obj(RBAC, "ClusterRoleBinding", "x"),
        obj("v1", "Secret", "s", "one"),
      ]),
    ).toEqual(["Namespace/kube-system", "ClusterRoleBinding/x", "Secret/s"]);
  });
});
