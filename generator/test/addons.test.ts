import { describe, expect, it } from "vitest";
import { versions } from "../src/pins/versions.js";
import { planCluster } from "../src/plan/cluster.js";
import { hydrate } from "../src/plan/addons-payload.js";
import { parseYamlStream } from "../src/core/yaml.js";
import { clusterSpec } from "./helpers.js";
import type { ClusterSpec } from "../src/cluster-spec/types.js";

const spec = (over: Record<string, unknown> = {}): ClusterSpec =>
  clusterSpec({ name: "demo", region: "us-east-2", kubernetesVersion: "v1.34.3", ...over });
const file = (s: ClusterSpec, p: string) =>
  planCluster(s, versions().addons).find((f) => f.path === `clusters/${s.name}/generated/${p}`)?.content ?? "";

describe("add-ons in a cluster's overlay", () => {
  it("one ClusterResourceSet per add-on, the CCM at the cluster's minor", () => {
    const crs = parseYamlStream(file(spec(), "addons.yaml")) as any[];
    expect(crs.map((c) => c.metadata.name)).toEqual(["demo-cni", "demo-ccm", "demo-csi"]);
    expect(crs[1].spec.resources).toEqual([{ kind: "ConfigMap", name: "demo-addon-aws-ccm-v1.34.3" }]);
    expect(crs[1].spec.strategy).toBe("Reconcile");
    const upgraded = parseYamlStream(file(spec({ kubernetesVersion: "v1.35.0" }), "addons.yaml")) as any[];
    expect(upgraded[1].spec.resources[0].name).toBe("demo-addon-aws-ccm-v1.35.3");
    // CAPI's webhook keeps clusterSelector and strategy immutable: an upgrade (or another CNI) changes only resources.
    const other = parseYamlStream(
      file(spec({ kubernetesVersion: "v1.35.0", network: { cni: "calico" } }), "addons.yaml"),
    ) as any[];
    for (const changed of [upgraded, other])
      for (const [i, c] of changed.entries()) {
        expect(c.metadata.name).toBe(crs[i].metadata.name);
        expect(c.spec.clusterSelector).toEqual(crs[i].spec.clusterSelector);
        expect(c.spec.strategy).toBe(crs[i].spec.strategy);
      }
  });
  it("calico: its CRDs in a ConfigMap of their own, applied before the rest", () => {
    const crs = parseYamlStream(file(spec({ network: { cni: "calico" } }), "addons.yaml")) as any[];
    const v = versions().addons.calico.release;
    expect(crs[0].spec.resources).toEqual([
      { kind: "ConfigMap", name: `demo-addon-calico-${v}-crds` },
      { kind: "ConfigMap", name: `demo-addon-calico-${v}` },
    ]);
  });
  it("opting out drops the CNI and the CSI", () => {
    const crs = parseYamlStream(file(spec({ network: { cni: "none" }, storage: "none" }), "addons.yaml")) as any[];
    expect(crs.map((c) => c.metadata.name)).toEqual(["demo-ccm"]);
  });
});

/** A workload running these images (one container each). */
const workload = (kind: string, name: string, images: readonly string[]) =>
  `apiVersion: apps/v1\nkind: ${kind}\nmetadata: {name: ${name}}\nspec:\n  template:\n    spec:\n      containers:\n` +
  images.map((image, i) => `        - {name: c${i}, image: "${image}"}\n`).join("");

/** A minimal Calico-like manifest: one CRD and a DaemonSet running the pinned Calico images retagged `tag`. */
const calico = (tag: string) =>
  `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n` +
  `metadata: {name: ippools.crd.projectcalico.org}\n---\n` +
  workload(
    "DaemonSet",
    "calico-node",
    versions().addons.images.calico!.map((i) => i.replace(/:[^:/]+$/, `:${tag}`)),
  );

/** Stand-ins for every source `npm run addons` reads, each running exactly its pinned images. */
function sources(template: string) {
  const pins = versions().addons;
  const rendered = {
    [`cilium/${pins.cilium.version}`]: workload("DaemonSet", "cilium", pins.images.cilium!),
    ...Object.fromEntries(
      Object.values(pins.cloudControllerManager.byMinor).map((v) => [
        `aws-ccm/${v}`,
        workload("DaemonSet", "aws-cloud-controller-manager", [`${pins.cloudControllerManager.image}:${v}`]),
      ]),
    ),
    [`calico/${pins.calico.release}`]: calico(pins.calico.release),
    [`nvidia-device-plugin/${pins.nvidiaDevicePlugin.version}`]: workload(
      "DaemonSet",
      "nvidia-device-plugin-daemonset",
      pins.images["nvidia-device-plugin"]!,
    ),
  };
  const snapshotCrds =
    `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n` +
    `metadata: {name: volumesnapshots.snapshot.storage.k8s.io}\n`;
  return {
    rendered,
    ebsCsiTemplate: template,
    snapshotCrds,
    snapshotController: workload("Deployment", "snapshot-controller", pins.images["aws-ebs-csi"]!),
  };
}

describe("hydration", () => {
  it(`drops CAPA's empty Secret, adds the gp3 StorageClass and the snapshot CRDs + controller, \
refuses rendered Secrets`, () => {
    const pins = versions().addons;
    const template =
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${pins.ebsCsi.configMap}}\ndata:\n  a.yaml: |\n` +
      `    apiVersion: v1\n    kind: Secret\n    metadata: {name: aws-secret}\n    ---\n` +
      `    apiVersion: storage.k8s.io/v1\n    kind: CSIDriver\n    metadata: {name: ebs.csi.aws.com}\n`;
    const raw = sources(template);
    const files = hydrate(pins, raw);
    const dir = `addons/aws-ebs-csi/${pins.ebsCsi.version}`;
    expect(
      (parseYamlStream(files.find((f) => f.path === `${dir}/aws-ebs-csi.yaml`)!.content) as any[]).map((o) => o.kind),
    ).toEqual(["CSIDriver", "StorageClass", "Deployment"]);
    expect(
      (parseYamlStream(files.find((f) => f.path === `${dir}/aws-ebs-csi-crds.yaml`)!.content) as any[]).map(
        (o) => o.metadata.name,
      ),
    ).toEqual(["volumesnapshots.snapshot.storage.k8s.io"]);
    expect(() =>
      hydrate(pins, {
        ...raw,
        rendered: {
          ...raw.rendered,
          [`cilium/${pins.cilium.version}`]: "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n",
        },
      }),
    ).toThrow(/Secret/);
  });
  it(`splits Calico's CRDs from the rest; refuses a manifest whose images are not at the pinned release, \
and CRDs an add-on does not declare`, () => {
    const pins = versions().addons;
    const template =
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${pins.ebsCsi.configMap}}\ndata:\n  a.yaml: |\n` +
      `    apiVersion: storage.k8s.io/v1\n    kind: CSIDriver\n    metadata: {name: ebs.csi.aws.com}\n`;
    const raw = sources(template);
    const files = hydrate(pins, raw);
    const dir = `addons/calico/${pins.calico.release}`;
    expect(
      (parseYamlStream(files.find((f) => f.path === `${dir}/calico-crds.yaml`)!.content) as any[]).map((o) => o.kind),
    ).toEqual(["CustomResourceDefinition"]);
    expect(
      (parseYamlStream(files.find((f) => f.path === `${dir}/calico.yaml`)!.content) as any[]).map((o) => o.kind),
    ).toEqual(["DaemonSet"]);
    expect(() =>
      hydrate(pins, { ...raw, rendered: { ...raw.rendered, [`calico/${pins.calico.release}`]: calico("v3.99.0") } }),
    ).toThrow(/not at the pinned release/);
    expect(() =>
      hydrate(pins, {
        ...raw,
        rendered: { ...raw.rendered, [`cilium/${pins.cilium.version}`]: calico(pins.calico.release) },
      }),
    ).toThrow(/declare crds/);
  });
  it(`refuses a payload running an image versions.json does not list, \
or a listed image not pinned by tag or digest`, () => {
    const pins = versions().addons;
    const raw = sources(
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${pins.ebsCsi.configMap}}\ndata:\n  a.yaml: |\n` +
        `    apiVersion: storage.k8s.io/v1\n    kind: CSIDriver\n    metadata: {name: ebs.csi.aws.com}\n`,
    );
    const key = `cilium/${pins.cilium.version}`;
    expect(() =>
      hydrate(pins, {
        ...raw,
        rendered: {
          ...raw.rendered,
          [key]: workload("DaemonSet", "cilium", [...pins.images.cilium!, "evil.example.com/cilium:latest"]),
        },
      }),
    ).toThrow(/evil\.example\.com\/cilium:latest are not listed in versions\.json addons\.images\.cilium/);
    const loose = { ...pins, images: { ...pins.images, cilium: ["quay.io/cilium/cilium"] } };
    expect(() =>
      hydrate(loose, {
        ...raw,
        rendered: { ...raw.rendered, [key]: workload("DaemonSet", "cilium", ["quay.io/cilium/cilium"]) },
      }),
    ).toThrow(/pinned by neither tag nor digest/);
  });
});

import { readFileSync } from "node:fs";
import path from "node:path";
import { unknownValuePaths } from "../src/plan/addons-payload.js";
import { hydrateAddons } from "../src/commands/addons.js";
import { resolveTool } from "../src/tools/resolve.js";
import { ADDONS_STORE } from "../src/pins/versions.js";

describe("chart values", () => {
  it("a key the chart's values.yaml lacks is reported (values.schema.json allows unknown keys)", () => {
    const defaults = { ipam: { mode: "cluster-pool" }, hubble: { tls: { enabled: true } }, args: ["a"] };
    expect(unknownValuePaths(defaults, { ipam: { mode: "kubernetes" }, args: ["b"] })).toEqual([]);
    expect(
      unknownValuePaths(defaults, {
        ipam: { modee: "kubernetes" },
        hubble: { tls: { enabled: false, auto: 1 } },
        extra: 1,
      }),
    ).toEqual(["ipam.modee", "hubble.tls.auto", "extra"]);
    expect(unknownValuePaths(defaults, { hostNetworking: true, extra: 1 }, "{{- if .Values.hostNetworking }}")).toEqual(
      ["extra"],
    );
  });
});

const hasHelm = (() => {
  try {
    return Boolean(resolveTool("helm"));
  } catch {
    return false;
  }
})();
describe.runIf(hasHelm)("addons/ is what `npm run addons` produces (pinned helm + modules)", () => {
  it("re-hydration gives the committed files byte for byte", async () => {
    const files = await hydrateAddons(() => {});
    expect(files.length).toBeGreaterThan(0);
    for (const f of files)
      expect(readFileSync(path.join(path.dirname(ADDONS_STORE), f.path), "utf8"), f.path).toBe(f.content);
  });
});

describe("a Kubernetes minor without a pinned CCM", () => {
  it("plans no CCM (no crash); the addons-ccm rule reports it (addon-rules.test.ts)", () => {
    const pins = versions().addons;
    const { "1.33": _dropped, ...byMinor } = pins.cloudControllerManager.byMinor;
    const s = spec({ kubernetesVersion: "v1.33.4" });
    const planned = planCluster(s, { ...pins, cloudControllerManager: { ...pins.cloudControllerManager, byMinor } });
    const crs = parseYamlStream(
      planned.find((f) => f.path === "clusters/demo/generated/addons.yaml")!.content,
    ) as any[];
    expect(crs.map((c) => c.metadata.name)).toEqual(["demo-cni", "demo-csi"]);
  });
});
