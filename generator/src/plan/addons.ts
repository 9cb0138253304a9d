/**
 * Add-ons delivered by the management cluster from Git: the CNI, the AWS cloud-controller-manager at the cluster's
 * Kubernetes minor, the AWS EBS CSI driver with a default gp3 StorageClass. Each add-on version's manifests are stored
 * once, hydrated by `npm run addons` into addons/<addon>/<version>/ (a kustomization whose configMapGenerator makes the
 * ConfigMap); every cluster's overlay includes the ones it uses (named `<cluster>-addon-…`, in the cluster's namespace)
 * and has one ClusterResourceSet per add-on selecting its own Cluster by the labels set here
 * (a ClusterResourceSet selects Clusters in its own namespace only: CAPI exp/addons/internal/controllers/
 * clusterresourceset_controller.go). Pure: pins in, files out.
 */
import type { ClusterSpec, Cni } from "../cluster-spec/types.js";
import { GROUP, LABEL } from "../k8s/capi.js";
import type { K8sObject } from "../k8s/object.js";
import { toYaml } from "../yaml.js";
import { addonDir, ADDONS_DIR } from "../repo/paths.js";
import type { AddonPins } from "../versions.js";
import { type OutputFile, owned } from "./files.js";
import { KUSTOMIZATION } from "./kustomize-objects.js";
import { SYNC_SAFE, syncSafe } from "./capi.js";
import path from "node:path";

/** Labels on the Cluster that the add-ons' ClusterResourceSets select (value: `<addon>-<version>`). */
export const ADDON_LABEL = {
  cni: "addons.capi-gitops.io/cni",
  ccm: "addons.capi-gitops.io/ccm",
  csi: "addons.capi-gitops.io/csi",
} as const;
export type AddonRole = keyof typeof ADDON_LABEL;

export const CRS_API = `${GROUP.addons}/v1beta2`;

/** One add-on version: its folder addons/<name>/<version>/ holds `<name>.yaml` (the manifests) and a kustomization. */
export interface Addon {
  role: AddonRole;
  name: string;
  version: string;
}

/** The ConfigMap name an add-on's kustomization generates (a cluster's overlay prefixes `<cluster>-`). */
export const addonConfigMapName = (a: Addon): string => `addon-${a.name}-${a.version}`;
/** The data key (and file name) holding the add-on's manifests. */
export const addonPayloadFile = (a: Addon): string => `${a.name}.yaml`;

/** "v1.34.2" → "1.34". */
export const minorOf = (version: string): string => version.replace(/^v/, "").split(".").slice(0, 2).join(".");

/** The cloud-provider-aws release for a Kubernetes version (same minor), or undefined when none is pinned. */
export function ccmVersion(kubernetesVersion: string, pins: AddonPins): string | undefined {
  return pins.cloudControllerManager.byMinor[minorOf(kubernetesVersion)];
}

/** Every add-on version `npm run addons` hydrates: the CNI, every pinned CCM minor, the EBS CSI driver. */
export function allAddons(pins: AddonPins): Addon[] {
  return [
    { role: "cni", name: "cilium", version: pins.cilium.version },
    ...Object.values(pins.cloudControllerManager.byMinor).map((version): Addon => ({ role: "ccm", name: "aws-ccm", version })),
    { role: "csi", name: "aws-ebs-csi", version: pins.ebsCsi.version },
  ];
}

/**
 * The add-ons one cluster uses, from its spec. The CCM follows the control plane's minor; a minor without a pinned
 * CCM gets none, and validate's addons-ccm rule reports it as an error (validate/addon-rules.ts).
 */
export function clusterAddons(spec: ClusterSpec, pins: AddonPins): Addon[] {
  const ccm = ccmVersion(spec.kubernetesVersion, pins);
  return [
    ...(spec.network.cni === "cilium" ? [{ role: "cni", name: "cilium", version: pins.cilium.version } satisfies Addon] : []),
    ...(ccm ? [{ role: "ccm", name: "aws-ccm", version: ccm } satisfies Addon] : []),
    ...(spec.storage === "ebs" ? [{ role: "csi", name: "aws-ebs-csi", version: pins.ebsCsi.version } satisfies Addon] : []),
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
 * "none" keeps CAPA's default.
 */
export const CNI_INGRESS_RULES: Record<Cni, { description: string; protocol: string; fromPort: number; toPort: number }[] | undefined> = {
  cilium: [
    { description: "cilium vxlan", protocol: "udp", fromPort: 8472, toPort: 8472 },
    { description: "cilium health", protocol: "tcp", fromPort: 4240, toPort: 4240 },
    { description: "cilium health icmp", protocol: "icmp", fromPort: -1, toPort: -1 },
  ],
  none: undefined,
};

/**
 * addons/<name>/<version>/kustomization.yaml: the ConfigMap made from the hydrated manifests, with the sync-safety
 * annotations every generated object has. The payloads stay far below client-side apply's 256 KiB annotation limit
 * (Cilium ≈ 48 KB), which `hydrate` checks.
 */
export function addonKustomization(a: Addon, files: string[]): string {
  return toYaml({
    ...KUSTOMIZATION,
    generatorOptions: { disableNameSuffixHash: true, annotations: { ...SYNC_SAFE } },
    configMapGenerator: [{ name: addonConfigMapName(a), files }],
  });
}

/** The files `npm run addons` writes for one add-on version (its root: addons/). */
export function addonFiles(a: Addon, payloads: Record<string, string>): OutputFile[] {
  const dir = addonDir(a.name, a.version);
  const names = Object.keys(payloads).sort();
  return [...names.map((n) => owned(`${dir}/${n}`, payloads[n]!)), owned(`${dir}/kustomization.yaml`, addonKustomization(a, names))];
}
export const ADDONS_ROOT = ADDONS_DIR;

/**
 * One cluster's add-on files under generated/: addons/kustomization.yaml (the payloads it uses, prefixed with the
 * cluster's name so clusters sharing a namespace do not share objects) and addons.yaml (one ClusterResourceSet each).
 * Returns the files and the entries for the generated kustomization's resources.
 */
export function planClusterAddons(spec: ClusterSpec, pins: AddonPins, gen: string): { files: OutputFile[]; resources: string[] } {
  const addons = clusterAddons(spec, pins);
  const wrapper = `${gen}/addons`;
  const crs = addons.map(
    (a): K8sObject => syncSafe({
      apiVersion: CRS_API,
      kind: "ClusterResourceSet",
      metadata: { name: `${spec.name}-${a.role}` },
      spec: {
        clusterSelector: { matchLabels: { [LABEL.clusterName]: spec.name, [ADDON_LABEL[a.role]]: `${a.name}-${a.version}` } },
        resources: [{ kind: "ConfigMap", name: `${spec.name}-${addonConfigMapName(a)}` }],
        strategy: "Reconcile",
      },
    }),
  );
  return {
    files: [
      owned(
        `${wrapper}/kustomization.yaml`,
        toYaml({ ...KUSTOMIZATION, namePrefix: `${spec.name}-`, resources: addons.map((a) => path.posix.relative(wrapper, addonDir(a.name, a.version))) }),
      ),
      owned(`${gen}/addons.yaml`, crs.map((o) => toYaml(o)).join("---\n")),
    ],
    resources: ["addons", "addons.yaml"],
  };
}
