/**
 * Issue 11 items 2 and 8, add-ons: every cluster reached by exactly one CNI, one CCM at its minor and one EBS CSI
 * driver through the ClusterResourceSets of its namespace that select it, every ConfigMap they name in the render.
 * The objects are built by hand, the payloads classified as `npm run addons` renders them (last test: addons/).
 */
import { describe, expect, it } from "vitest";
import { clusterRules } from "../src/validate/rules.js";
import { toYaml } from "../src/core/yaml.js";
import { versions } from "../src/pins/versions.js";

const ns = "demo";
const cluster = (labels: Record<string, string>) => ({
  apiVersion: "cluster.x-k8s.io/v1beta2",
  kind: "Cluster",
  metadata: { name: "demo", namespace: ns, labels },
});
const kcp = (version: string) => ({
  apiVersion: "controlplane.cluster.x-k8s.io/v1beta2",
  kind: "KubeadmControlPlane",
  metadata: { name: "demo-control-plane", namespace: ns },
  spec: { replicas: 1, version },
});
const crs = (name: string, selector: unknown, configMaps: string[]) => ({
  apiVersion: "addons.cluster.x-k8s.io/v1beta2",
  kind: "ClusterResourceSet",
  metadata: { name, namespace: ns },
  spec: {
    strategy: "Reconcile",
    clusterSelector: selector,
    resources: configMaps.map((n) => ({ kind: "ConfigMap", name: n })),
  },
});
const daemonSet = (name: string, image: string) => ({
  apiVersion: "apps/v1",
  kind: "DaemonSet",
  metadata: { name, namespace: "kube-system" },
  spec: { template: { spec: { containers: [{ name, image }] } } },
});
const cm = (name: string, docs: object[]) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: ns },
  data: { "manifests.yaml": docs.map((d) => toYaml(d)).join("---\n") },
});
const cilium = cm("cilium", [daemonSet("cilium", "quay.io/cilium/cilium:v1.20.2")]);
const calico = cm("calico", [daemonSet("calico-node", "quay.io/calico/node:v3.30.0")]);
const ccm = (tag: string) =>
  cm("ccm", [
    daemonSet("aws-cloud-controller-manager", `registry.k8s.io/provider-aws/cloud-controller-manager:${tag}`),
  ]);
const csi = cm("ebs", [
  { apiVersion: "storage.k8s.io/v1", kind: "CSIDriver", metadata: { name: "ebs.csi.aws.com" } },
  { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "gp3" } },
]);
const labels = { "addons.capi-gitops.io/cni": "cilium", "addons.capi-gitops.io/ccm": "v1.34" };
const all = (version: string, ccmTag: string) => [
  cluster(labels),
  kcp(version),
  crs("cni-cilium", { matchLabels: { "addons.capi-gitops.io/cni": "cilium" } }, ["cilium"]),
  crs("cni-calico", { matchLabels: { "addons.capi-gitops.io/cni": "calico" } }, ["calico"]),
  crs("ccm", { matchExpressions: [{ key: "addons.capi-gitops.io/ccm", operator: "Exists" }] }, ["ccm"]),
  crs(
    "storage",
    { matchExpressions: [{ key: "addons.capi-gitops.io/storage", operator: "NotIn", values: ["none"] }] },
    ["ebs"],
  ),
  cilium,
  calico,
  ccm(ccmTag),
  csi,
];
const findings = (objects: object[]) =>
  clusterRules(
    { cluster: "demo", objects, origins: objects.map(() => undefined) } as never,
    "clusters/demo/kustomization.yaml",
  ).filter((f) => f.rule.startsWith("addons"));
const rules = (objects: object[]) => findings(objects).map((f) => `${f.severity} ${f.rule} ${f.path}`);
const files = (objects: object[]) => findings(objects).map((f) => f.file);

describe("add-on rules", () => {
  it("exactly one CNI, one CCM at the cluster's minor and one CSI driver: clean", () => {
    expect(rules(all("v1.34.2", "v1.34.3"))).toEqual([]);
  });
  it("a Kubernetes upgrade without the CCM following it is an error (addons-ccm-minor)", () => {
    expect(rules(all("v1.35.0", "v1.34.3"))).toEqual(["error addons-ccm-minor ClusterResourceSet/ccm:spec.resources"]);
    expect(rules(all("v1.35.0", "v1.35.1"))).toEqual([]);
  });
  it("two CNIs are an error; a missing one a warning (opted out)", () => {
    const both = all("v1.34.2", "v1.34.3").map((o: any) =>
      o.kind === "Cluster"
        ? cluster({ ...labels })
        : o.metadata.name === "cni-calico"
          ? crs("cni-calico", { matchLabels: { "addons.capi-gitops.io/cni": "cilium" } }, ["calico"])
          : o,
    );
    expect(rules(both)).toEqual(["error addons-cni ClusterResourceSet/cni-calico:spec.resources"]);
    const none = all("v1.34.2", "v1.34.3").map((o: any) =>
      o.kind === "Cluster"
        ? cluster({ ...labels, "addons.capi-gitops.io/cni": "none", "addons.capi-gitops.io/storage": "none" })
        : o,
    );
    // the opt-out warnings point at the spec field that opts out
    expect(rules(none)).toEqual(["warning addons-cni network.cni", "warning addons-csi storage"]);
    expect(files(none)).toEqual(["clusters/demo/cluster.yaml", "clusters/demo/cluster.yaml"]);
  });
  // --- h-addons: issue 19 items 5 and 10 ---
  it("the pinned Calico outside its tested Kubernetes minors is a warning on network.cni (addons-cni-tested)", () => {
    const { release, kubernetes } = versions().addons.calico;
    const pinnedCalico = cm("calico", [daemonSet("calico-node", `docker.io/calico/node:${release}`)]);
    const onCalico = (version: string) =>
      all(version, `v${version.replace(/^v/, "").split(".").slice(0, 2).join(".")}.0`).map((o: any) =>
        o.kind === "Cluster"
          ? cluster({ ...labels, "addons.capi-gitops.io/cni": "calico" })
          : o.metadata.name === "calico"
            ? pinnedCalico
            : o,
      );
    const [maxMajor, maxMinor] = kubernetes.max.split(".").map(Number) as [number, number];
    expect(rules(onCalico(`v${maxMajor}.${maxMinor}.0`))).toEqual([]);
    expect(rules(onCalico(`v${maxMajor}.${maxMinor + 1}.0`))).toEqual(["warning addons-cni-tested network.cni"]);
    expect(findings(onCalico(`v${maxMajor}.${maxMinor + 1}.0`))[0]!.message).toContain(
      `Calico ${release} is tested on Kubernetes ${kubernetes.min}–${kubernetes.max}`,
    );
    // another Calico release (brought by hand) has a range we do not know: no claim
    expect(
      rules(
        all(`v${maxMajor}.${maxMinor + 1}.0`, `v${maxMajor}.${maxMinor + 1}.0`).map((o: any) =>
          o.kind === "Cluster" ? cluster({ ...labels, "addons.capi-gitops.io/cni": "calico" }) : o,
        ),
      ),
    ).toEqual([]);
  });
  it(`no CCM: the message says which minors are pinned, or that the cluster's minor is pinned and its set is \
gone`, () => {
    const noCcm = (version: string) => all(version, "v1.34.3").filter((o: any) => o.metadata.name !== "ccm");
    const pinned = Object.keys(versions().addons.cloudControllerManager.byMinor);
    const gone = findings(noCcm("v1.34.2")).find((f) => f.rule === "addons-ccm")!;
    expect(gone.message).toContain("it pins 1.34: restore the ccm ClusterResourceSet");
    const unpinned = findings(noCcm("v1.29.0")).find((f) => f.rule === "addons-ccm")!;
    expect(unpinned.message).toContain(`it pins ${pinned.join(", ")}`);
    expect(unpinned.message).not.toContain("1.32 has none");
  });
  it("a ClusterResourceSet in another namespace, or with an empty selector, reaches nothing", () => {
    const objs = all("v1.34.2", "v1.34.3").map((o: any) =>
      o.metadata.name === "ccm" && o.kind === "ClusterResourceSet"
        ? { ...o, spec: { ...o.spec, clusterSelector: {} } }
        : o,
    );
    expect(rules(objs)).toEqual(["error addons-ccm Cluster/demo:metadata.labels"]);
    const elsewhere = all("v1.34.2", "v1.34.3").map((o: any) =>
      o.kind === "ClusterResourceSet" && o.metadata.name === "storage"
        ? { ...o, metadata: { ...o.metadata, namespace: "other" } }
        : o,
    );
    expect(rules(elsewhere)).toEqual(["warning addons-csi storage"]);
  });
  it("a cluster no ClusterResourceSet selects: no CCM is an error, no CNI / CSI the opt-out warnings", () => {
    expect(rules([cluster({}), kcp("v1.34.2")])).toEqual([
      "warning addons-cni network.cni",
      "error addons-ccm Cluster/demo:metadata.labels",
      "warning addons-csi storage",
    ]);
  });
  it(`a ConfigMap a ClusterResourceSet names but the render lacks: one error, \
under the role its selector names`, () => {
    const objs = all("v1.34.2", "v1.34.3").filter((o: any) => !(o.kind === "ConfigMap" && o.metadata.name === "ccm"));
    expect(rules(objs)).toEqual(["error addons-ccm ClusterResourceSet/ccm:spec.resources.0"]);
    const unnamed = objs.map((o: any) =>
      o.kind === "ClusterResourceSet" && o.metadata.name === "ccm"
        ? crs("ccm", { matchLabels: { "cluster.x-k8s.io/cluster-name": "demo" } }, ["ccm"])
        : o,
    );
    expect(
      rules([
        ...unnamed.map((o: any) =>
          o.kind === "Cluster" ? cluster({ ...labels, "cluster.x-k8s.io/cluster-name": "demo" }) : o,
        ),
      ]),
    ).toEqual(["error addons-resources ClusterResourceSet/ccm:spec.resources.0"]);
    const labelled = [
      cluster({ ...labels, "cluster.x-k8s.io/cluster-name": "demo" }),
      kcp("v1.34.2"),
      crs("ccm", { matchLabels: { "addons.capi-gitops.io/ccm": "v1.34" } }, ["ccm"]),
      cilium,
      csi,
      crs("cni", { matchLabels: { "addons.capi-gitops.io/cni": "cilium" } }, ["cilium"]),
      crs("csi", { matchLabels: { "cluster.x-k8s.io/cluster-name": "demo" } }, ["ebs"]),
    ];
    expect(rules(labelled)).toEqual(["error addons-ccm ClusterResourceSet/ccm:spec.resources.0"]);
  });
  it("two ClusterResourceSets applying the same payload: one error", () => {
    const twice = [
      ...all("v1.34.2", "v1.34.3"),
      crs("cni-again", { matchLabels: { "addons.capi-gitops.io/cni": "cilium" } }, ["cilium"]),
    ];
    expect(rules(twice)).toEqual(["error addons-cni ClusterResourceSet/cni-again:spec.resources"]);
  });
  it(`the payloads \`npm run addons\` renders (addons/) are classified: Cilium a CNI, every pinned CCM at its minor, \
EBS CSI`, () => {
    const payloads = versions().addonPayloads ?? {};
    const payload = (p: string) => {
      expect(payloads, p).toHaveProperty([p]);
      return payloads[p]!;
    };
    const pins = versions().addons;
    const real = (name: string, p: string) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: ns },
      data: { [p.split("/").pop()!]: payload(p) },
    });
    const sel = (k: string) => ({ matchLabels: { [`addons.capi-gitops.io/${k}`]: "x" } });
    for (const [minor, tag] of Object.entries(pins.cloudControllerManager.byMinor)) {
      const objs = [
        cluster({
          "addons.capi-gitops.io/cni": "x",
          "addons.capi-gitops.io/ccm": "x",
          "addons.capi-gitops.io/csi": "x",
        }),
        kcp(`v${minor}.0`),
        crs("cni", sel("cni"), ["cni"]),
        crs("ccm", sel("ccm"), ["ccm"]),
        crs("csi", sel("csi"), ["csi"]),
        real("cni", `addons/cilium/${pins.cilium.version}/cilium.yaml`),
        real("ccm", `addons/aws-ccm/${tag}/aws-ccm.yaml`),
        real("csi", `addons/aws-ebs-csi/${pins.ebsCsi.version}/aws-ebs-csi.yaml`),
      ];
      expect(rules(objs), minor).toEqual([]);
      // and the CCM of another minor is caught
      expect(
        rules(
          objs.map((o: any) => (o.kind === "KubeadmControlPlane" ? kcp(minor === "1.34" ? "v1.35.0" : "v1.34.0") : o)),
        ),
        minor,
      ).toEqual(["error addons-ccm-minor ClusterResourceSet/ccm:spec.resources"]);
    }
  });
});

// --- h-images: issue 19 item 6 ---
describe("add-on minors during a staged upgrade", () => {
  const pool = (version: string) => ({
    apiVersion: "cluster.x-k8s.io/v1beta2",
    kind: "MachinePool",
    metadata: { name: "demo-default", namespace: ns },
    spec: { clusterName: "demo", template: { spec: { version } } },
  });
  it(`while a pool is a minor behind the control plane, the CCM may be exactly one minor behind; never two, \
never newer`, () => {
    // Between the two steps: control plane v1.35, pool v1.34, CCM v1.34 — accepted.
    expect(rules([...all("v1.35.0", "v1.34.3"), pool("v1.34.3")])).toEqual([]);
    // Negative control: the same CCM with every pool at the control plane's minor is the error it always was.
    expect(rules([...all("v1.35.0", "v1.34.3"), pool("v1.35.0")])).toEqual([
      "error addons-ccm-minor ClusterResourceSet/ccm:spec.resources",
    ]);
    // Two minors behind, or newer than the API server: errors even during an upgrade.
    expect(rules([...all("v1.35.0", "v1.33.4"), pool("v1.34.3")])).toEqual([
      "error addons-ccm-minor ClusterResourceSet/ccm:spec.resources",
    ]);
    expect(rules([...all("v1.34.3", "v1.35.1"), pool("v1.33.4")])).toEqual([
      "error addons-ccm-minor ClusterResourceSet/ccm:spec.resources",
    ]);
  });
});
