/**
 * Add-ons delivered by the management cluster from Git: the CNI, the AWS cloud-controller-manager at the cluster's
 * Kubernetes minor, the AWS EBS CSI driver with a default gp3 StorageClass. Each add-on version's manifests are stored
 * once, hydrated by `npm run addons` into addons/<addon>/<version>/ (a kustomization whose configMapGenerator makes the
 * ConfigMap); every cluster's overlay includes the ones it uses (named `<cluster>-addon-…`, in the cluster's namespace)
 * and has one ClusterResourceSet per add-on selecting its own Cluster by the labels set here
 * (a ClusterResourceSet selects Clusters in its own namespace only: CAPI exp/addons/internal/controllers/
 * clusterresourceset_controller.go). Pure: pins in, files out.
 */
import { type ClusterSpec, type Cni, CNIS } from "../cluster-spec/types.js";
import { launchesGpu } from "../cluster-spec/gpu.js";
import { addonKubernetesVersion } from "./addon-version.js";
import { GROUP, LABEL } from "../k8s/capi.js";
import type { K8sObject } from "../k8s/object.js";
import { toYaml } from "../core/yaml.js";
import { addonDir, ADDONS_DIR } from "../core/layout.js";
import type { AddonPins } from "../pins/versions.js";
import { type OutputFile, owned } from "./files.js";
import { KUSTOMIZATION } from "./kustomize-objects.js";
import { SYNC_SAFE } from "../core/vocabulary.js";
import { syncSafe } from "./capi.js";
import path from "node:path";

/** Labels on the Cluster that the add-ons' ClusterResourceSets select (value: `<addon>-<version>`). */
export const ADDON_LABEL = {
  cni: "addons.capi-gitops.io/cni",
  ccm: "addons.capi-gitops.io/ccm",
  csi: "addons.capi-gitops.io/csi",
  gpu: "addons.capi-gitops.io/gpu",
} as const;
export type AddonRole = keyof typeof ADDON_LABEL;

export const CRS_API = `${GROUP.addons}/v1beta2`;

/**
 * One add-on version: its folder addons/<name>/<version>/ holds `<name>.yaml` (the manifests), `<name>-crds.yaml`
 * when the add-on ships CustomResourceDefinitions (`crds`), and a kustomization.
 */
export interface Addon {
  role: AddonRole;
  name: string;
  version: string;
  /**
   * The add-on's CustomResourceDefinitions go into a ConfigMap of their own, applied first: Calico's manifest is
   * ≈ 250 kB, over the budget of one ConfigMap (plan/addons-payload.ts), and 90 % of it is CRDs.
   */
  crds?: boolean;
}

/** One ConfigMap of an add-on: its generated name (a cluster's overlay prefixes `<cluster>-`) and its data file. */
export interface AddonPart {
  configMap: string;
  file: string;
  /** Which objects of the hydrated manifests it holds. */
  holds: "crds" | "rest";
}

/** An add-on's ConfigMaps, in the order its ClusterResourceSet applies them (CRDs first). */
export function addonParts(a: Addon): AddonPart[] {
  const base = `addon-${a.name}-${a.version}`;
  return [
    ...(a.crds ? [{ configMap: `${base}-crds`, file: `${a.name}-crds.yaml`, holds: "crds" } satisfies AddonPart] : []),
    { configMap: base, file: `${a.name}.yaml`, holds: "rest" },
  ];
}

/** "v1.34.2" → "1.34". */
export const minorOf = (version: string): string => version.replace(/^v/, "").split(".").slice(0, 2).join(".");

/** The cloud-provider-aws release for a Kubernetes version (same minor), or undefined when none is pinned. */
export function ccmVersion(kubernetesVersion: string, pins: AddonPins): string | undefined {
  return pins.cloudControllerManager.byMinor[minorOf(kubernetesVersion)];
}

/** The add-on of each CNI the management cluster installs ("none": bring your own). */
export function cniAddon(cni: Cni, pins: AddonPins): Addon | undefined {
  if (cni === "cilium") return { role: "cni", name: "cilium", version: pins.cilium.version };
  if (cni === "calico") return { role: "cni", name: "calico", version: pins.calico.release, crds: true };
  return undefined;
}

/**
 * The EBS CSI driver with the VolumeSnapshot CRDs (a part of their own, applied first) and the snapshot-controller
 * its csi-snapshotter sidecar needs.
 */
export const csiAddon = (pins: AddonPins): Addon => ({
  role: "csi",
  name: "aws-ebs-csi",
  version: pins.ebsCsi.version,
  crds: true,
});

/** NVIDIA's device plugin (versions.json addons.nvidiaDevicePlugin). */
export const gpuAddon = (pins: AddonPins): Addon => ({
  role: "gpu",
  name: "nvidia-device-plugin",
  version: pins.nvidiaDevicePlugin.version,
});

/** Whether a pool (or one of its further instance types) is of an NVIDIA GPU family (cluster-spec/gpu.ts). */
export const hasGpuPool = (spec: Pick<ClusterSpec, "nodePools">): boolean => spec.nodePools.some(launchesGpu);

/**
 * Every add-on version `npm run addons` hydrates: the CNIs, every pinned CCM minor, the EBS CSI driver, the NVIDIA
 * device plugin.
 */
export function allAddons(pins: AddonPins): Addon[] {
  return [
    ...CNIS.flatMap((c) => cniAddon(c, pins) ?? []),
    ...Object.values(pins.cloudControllerManager.byMinor).map((version): Addon => ({
      role: "ccm",
      name: "aws-ccm",
      version,
    })),
    csiAddon(pins),
    gpuAddon(pins),
  ];
}

/**
 * The add-ons one cluster uses, from its spec. The CCM follows the control plane's minor, one minor behind while the
 * pools are (plan/addon-version.ts); a minor without a pinned CCM gets none, and validate's addons-ccm rule reports it
 * as an error (validate/addon-rules.ts).
 */
export function clusterAddons(spec: ClusterSpec, pins: AddonPins): Addon[] {
  // No CCM pinned for the minor behind: the control plane's (never newer than the API servers once they have rolled).
  const ccm = ccmVersion(addonKubernetesVersion(spec), pins) ?? ccmVersion(spec.kubernetesVersion, pins);
  return [
    ...[cniAddon(spec.network.cni, pins)].filter((a) => a !== undefined),
    ...(ccm ? [{ role: "ccm", name: "aws-ccm", version: ccm } satisfies Addon] : []),
    ...(spec.storage === "ebs" ? [csiAddon(pins)] : []),
    // Only where a GPU pool can use it: elsewhere its DaemonSet would run on every node for nothing.
    ...(hasGpuPool(spec) ? [gpuAddon(pins)] : []),
  ];
}

/** The Cluster's add-on labels: one per add-on it uses. */
export function addonLabels(spec: ClusterSpec, pins: AddonPins): Record<string, string> {
  return Object.fromEntries(clusterAddons(spec, pins).map((a) => [ADDON_LABEL[a.role], `${a.name}-${a.version}`]));
}

/**
 * AWSCluster spec.network.cni.cniIngressRules per CNI. CAPA's default when unset is Calico's (BGP 179/tcp and
 * IP-in-IP; CAPA pkg/cloud/services/securitygroup/securitygroups.go defaultCNIIngressRules). Cilium's: VXLAN
 * 8472/udp, health checks 4240/tcp and ICMP echo (Cilium docs "Firewall Rules", the chart's default tunnel is vxlan).
 * Calico's (BGP and IP-in-IP: the release manifest's CALICO_IPV4POOL_IPIP=Always) are CAPA's defaults
 * (api/v1beta2/defaults.go SetDefaults_NetworkSpec), written out so the render says what the cluster gets.
 * "none" keeps CAPA's default.
 */
export const CNI_INGRESS_RULES: Record<
  Cni,
  { description: string; protocol: string; fromPort: number; toPort: number }[] | undefined
> = {
  cilium: [
    { description: "cilium vxlan", protocol: "udp", fromPort: 8472, toPort: 8472 },
    { description: "cilium health", protocol: "tcp", fromPort: 4240, toPort: 4240 },
    { description: "cilium health icmp", protocol: "icmp", fromPort: -1, toPort: -1 },
  ],
  calico: [
    { description: "bgp (calico)", protocol: "tcp", fromPort: 179, toPort: 179 },
    { description: "IP-in-IP (calico)", protocol: "4", fromPort: -1, toPort: 65535 },
  ],
  none: undefined,
};

/**
 * addons/<name>/<version>/kustomization.yaml: the ConfigMap made from the hydrated manifests, with the sync-safety
 * annotations every generated object has. The payloads stay far below client-side apply's 256 KiB annotation limit
 * (Cilium ≈ 48 KB), which `hydrate` checks.
 */
export function addonKustomization(a: Addon): string {
  return toYaml({
    ...KUSTOMIZATION,
    generatorOptions: { disableNameSuffixHash: true, annotations: { ...SYNC_SAFE } },
    configMapGenerator: addonParts(a).map((p) => ({ name: p.configMap, files: [p.file] })),
  });
}

/** The files `npm run addons` writes for one add-on version (its root: addons/): one payload per part. */
export function addonFiles(a: Addon, payloads: Record<AddonPart["holds"], string>): OutputFile[] {
  const dir = addonDir(a.name, a.version);
  return [
    ...addonParts(a).map((p) => owned(`${dir}/${p.file}`, payloads[p.holds])),
    owned(`${dir}/kustomization.yaml`, addonKustomization(a)),
  ];
}
export const ADDONS_ROOT = ADDONS_DIR;

/**
 * One cluster's add-on files under generated/: addons/kustomization.yaml (the payloads it uses, prefixed with the
 * cluster's name so clusters sharing a namespace do not share objects) and addons.yaml (one ClusterResourceSet each).
 * Returns the files and the entries for the generated kustomization's resources.
 */
export function planClusterAddons(
  spec: ClusterSpec,
  pins: AddonPins,
  gen: string,
): { files: OutputFile[]; resources: string[] } {
  const addons = clusterAddons(spec, pins);
  const wrapper = `${gen}/addons`;
  const crs = clusterResourceSets(spec, pins);
  return {
    files: [
      owned(
        `${wrapper}/kustomization.yaml`,
        toYaml({
          ...KUSTOMIZATION,
          namePrefix: `${spec.name}-`,
          resources: addons.map((a) => path.posix.relative(wrapper, addonDir(a.name, a.version))),
        }),
      ),
      owned(`${gen}/addons.yaml`, crs.map((o) => toYaml(o)).join("---\n")),
    ],
    resources: ["addons", "addons.yaml"],
  };
}

/**
 * The add-on ConfigMaps a cluster's render holds (`<cluster>-addon-…`), each with the data `generate` gives it: the
 * pinned payload (`payloads`: repository path → content, versions().addonPayloads) under its file name; `data`
 * undefined when the payload is not in the store (validate's addons-integrity reports that).
 */
export function clusterAddonConfigMaps(
  spec: ClusterSpec,
  pins: AddonPins,
  payloads: Readonly<Record<string, string>>,
): { name: string; payload: string; data: Record<string, string> | undefined }[] {
  return clusterAddons(spec, pins).flatMap((a) =>
    addonParts(a).map((p) => {
      const payload = `${addonDir(a.name, a.version)}/${p.file}`;
      const content = payloads[payload];
      return {
        name: `${spec.name}-${p.configMap}`,
        payload,
        data: content === undefined ? undefined : { [p.file]: content },
      };
    }),
  );
}

/**
 * The ClusterResourceSets of one cluster (generated/addons.yaml): one per add-on, selecting the cluster by its labels.
 */
export function clusterResourceSets(spec: ClusterSpec, pins: AddonPins): K8sObject[] {
  return clusterAddons(spec, pins).map((a): K8sObject =>
    syncSafe({
      apiVersion: CRS_API,
      kind: "ClusterResourceSet",
      metadata: { name: `${spec.name}-${a.role}` },
      spec: {
        // No version or add-on name in the selector: CAPI's webhook keeps clusterSelector immutable
        // (internal/webhooks/clusterresourceset.go), while spec.resources may change — so a Kubernetes upgrade (a new
        // CCM) or another CNI changes only the resources, and strategy Reconcile applies them.
        clusterSelector: {
          matchLabels: { [LABEL.clusterName]: spec.name },
          matchExpressions: [{ key: ADDON_LABEL[a.role], operator: "Exists" }],
        },
        resources: addonParts(a).map((p) => ({ kind: "ConfigMap", name: `${spec.name}-${p.configMap}` })),
        strategy: "Reconcile",
      },
    }),
  );
}
