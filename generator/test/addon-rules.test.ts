/**
 * Issue 11 item 8, add-ons: every cluster reached by exactly one CNI, one CCM at its minor and one EBS CSI driver
 * through the ClusterResourceSets of its namespace that select it. The objects are what kustomize renders for a
 * cluster (the add-on payloads come from the add-ons part of issue 11); here they are built by hand.
 */
import { describe, expect, it } from "vitest";
import { clusterRules } from "../src/validate/rules.js";
import { toYaml } from "../src/yaml.js";

const ns = "demo";
const cluster = (labels: Record<string, string>) => ({ apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Cluster", metadata: { name: "demo", namespace: ns, labels } });
const kcp = (version: string) => ({ apiVersion: "controlplane.cluster.x-k8s.io/v1beta2", kind: "KubeadmControlPlane", metadata: { name: "demo-control-plane", namespace: ns }, spec: { replicas: 1, version } });
const crs = (name: string, selector: unknown, configMaps: string[]) => ({
  apiVersion: "addons.cluster.x-k8s.io/v1beta2",
  kind: "ClusterResourceSet",
  metadata: { name, namespace: ns },
  spec: { strategy: "Reconcile", clusterSelector: selector, resources: configMaps.map((n) => ({ kind: "ConfigMap", name: n })) },
});
const daemonSet = (name: string, image: string) => ({ apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name, namespace: "kube-system" }, spec: { template: { spec: { containers: [{ name, image }] } } } });
const cm = (name: string, docs: object[]) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns }, data: { "manifests.yaml": docs.map((d) => toYaml(d)).join("---\n") } });
const cilium = cm("cilium", [daemonSet("cilium", "quay.io/cilium/cilium:v1.20.2")]);
const calico = cm("calico", [daemonSet("calico-node", "quay.io/calico/node:v3.30.0")]);
const ccm = (tag: string) => cm("ccm", [daemonSet("aws-cloud-controller-manager", `registry.k8s.io/provider-aws/cloud-controller-manager:${tag}`)]);
const csi = cm("ebs", [{ apiVersion: "storage.k8s.io/v1", kind: "CSIDriver", metadata: { name: "ebs.csi.aws.com" } }, { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "gp3" } }]);
const labels = { "addons.capi-gitops.io/cni": "cilium", "addons.capi-gitops.io/ccm": "v1.34" };
const all = (version: string, ccmTag: string) => [
  cluster(labels),
  kcp(version),
  crs("cni-cilium", { matchLabels: { "addons.capi-gitops.io/cni": "cilium" } }, ["cilium"]),
  crs("cni-calico", { matchLabels: { "addons.capi-gitops.io/cni": "calico" } }, ["calico"]),
  crs("ccm", { matchExpressions: [{ key: "addons.capi-gitops.io/ccm", operator: "Exists" }] }, ["ccm"]),
  crs("storage", { matchExpressions: [{ key: "addons.capi-gitops.io/storage", operator: "NotIn", values: ["none"] }] }, ["ebs"]),
  cilium,
  calico,
  ccm(ccmTag),
  csi,
];
const rules = (objects: object[]) =>
  clusterRules({ cluster: "demo", objects, origins: objects.map(() => undefined) } as never, "clusters/demo/kustomization.yaml")
    .filter((f) => f.rule.startsWith("addons"))
    .map((f) => `${f.severity} ${f.rule} ${f.path}`);

describe("add-on rules", () => {
  it("exactly one CNI, one CCM at the cluster's minor and one CSI driver: clean", () => {
    expect(rules(all("v1.34.2", "v1.34.3"))).toEqual([]);
  });
  it("a Kubernetes upgrade without the CCM following it is an error (addons-ccm-minor)", () => {
    expect(rules(all("v1.35.0", "v1.34.3"))).toEqual(["error addons-ccm-minor ClusterResourceSet/ccm:spec.resources"]);
    expect(rules(all("v1.35.0", "v1.35.1"))).toEqual([]);
  });
  it("two CNIs are an error; a missing one a warning (opted out)", () => {
    const both = all("v1.34.2", "v1.34.3").map((o: any) => (o.kind === "Cluster" ? cluster({ ...labels }) : o.metadata.name === "cni-calico" ? crs("cni-calico", { matchLabels: { "addons.capi-gitops.io/cni": "cilium" } }, ["calico"]) : o));
    expect(rules(both)).toEqual(["error addons-cni ClusterResourceSet/cni-calico:spec.resources"]);
    const none = all("v1.34.2", "v1.34.3").map((o: any) => (o.kind === "Cluster" ? cluster({ ...labels, "addons.capi-gitops.io/cni": "none", "addons.capi-gitops.io/storage": "none" }) : o));
    expect(rules(none)).toEqual(["warning addons-cni Cluster/demo:metadata.labels", "warning addons-csi Cluster/demo:metadata.labels"]);
  });
  it("a ClusterResourceSet in another namespace, or with an empty selector, reaches nothing", () => {
    const objs = all("v1.34.2", "v1.34.3").map((o: any) => (o.metadata.name === "ccm" && o.kind === "ClusterResourceSet" ? { ...o, spec: { ...o.spec, clusterSelector: {} } } : o));
    expect(rules(objs)).toEqual(["warning addons-ccm Cluster/demo:metadata.labels"]);
    const elsewhere = all("v1.34.2", "v1.34.3").map((o: any) => (o.kind === "ClusterResourceSet" && o.metadata.name === "storage" ? { ...o, metadata: { ...o.metadata, namespace: "other" } } : o));
    expect(rules(elsewhere)).toEqual(["warning addons-csi Cluster/demo:metadata.labels"]);
  });
  it("a cluster no ClusterResourceSet selects is not judged (add-ons not delivered from Git)", () => {
    expect(rules([cluster({}), kcp("v1.34.2")])).toEqual([]);
  });
});
