/**
 * `npm run addons`: hydrates every pinned add-on version into addons/<addon>/<version>/ (owned whole): the charts
 * come from pinned Go modules (`go mod download`) and are rendered offline by the pinned helm; the EBS CSI driver's
 * manifests come from the pinned CAPA module (see versions.json "addons"). It writes this checkout's addons/
 * (ADDONS_STORE);
 * `npm run generate` copies them into the repository it generates. Deterministic: a second run changes nothing.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { ADDONS_STORE, versions } from "../pins/versions.js";
import { goModDownload } from "../tools/go.js";
import { helmTemplate } from "../tools/helm.js";
import { kustomizeBuild } from "../tools/kustomize.js";
import { withRepoLock } from "../repo/lock.js";
import { writeTree, type WriteResult } from "../repo/write.js";
import { mergePlans, type OutputFile, owned } from "../plan/files.js";
import { ADDONS_LOCK_FILE, addonLock, addonLockText } from "../plan/addons-lock.js";
import { hydrate, type RawSources } from "../plan/addons-payload.js";
import { checkValues } from "../workflows/chart-values.js";
import { ADDONS_ROOT, allAddons } from "../plan/addons.js";

export async function addonsCommand(opts: { cwd: string; log: (line: string) => void }): Promise<WriteResult> {
  const hydrated = await hydrateAddons(opts.log);
  const lock = addonLock(versions().addons, Object.fromEntries(hydrated.map((f) => [f.path, f.content])));
  // The lock beside versions.json, outside addons/: what addons/ must hold is not read from addons/ itself.
  const files = [...hydrated, owned(ADDONS_LOCK_FILE, addonLockText(lock))];
  const plan = mergePlans([{ files, roots: [ADDONS_ROOT] }]);
  return withRepoLock(
    path.dirname(ADDONS_STORE),
    async () => {
      const result = await writeTree(path.dirname(ADDONS_STORE), plan);
      for (const f of result.written) opts.log(`wrote   ${f}`);
      for (const f of result.deleted) opts.log(`deleted ${f}`);
      return result;
    },
    { log: opts.log },
  );
}

/** What `npm run addons` writes: every addons/ file, from the pinned modules and helm (no write). */
export async function hydrateAddons(log: (line: string) => void): Promise<OutputFile[]> {
  const pins = versions().addons;
  const raw: RawSources = { rendered: {}, ebsCsiTemplate: "", snapshotCrds: "", snapshotController: "" };
  for (const a of allAddons(pins)) {
    if (a.name === "cilium") {
      const dir = await goModDownload(pins.cilium.module, pins.cilium.version);
      log(`cilium ${a.version}: helm template ${pins.cilium.chart}`);
      await checkValues(path.join(dir, pins.cilium.chart), CILIUM_VALUES);
      raw.rendered[`${a.name}/${a.version}`] = await helmTemplate({
        release: "cilium",
        chartDir: path.join(dir, pins.cilium.chart),
        namespace: "kube-system",
        kubeVersion: KUBE_VERSION_FOR_CHARTS,
        values: CILIUM_VALUES,
      });
    } else if (a.name === "calico") {
      const dir = await goModDownload(pins.calico.module, pins.calico.version);
      log(`calico ${a.version}: ${pins.calico.file} of ${pins.calico.module}@${pins.calico.version}`);
      raw.rendered[`${a.name}/${a.version}`] = await readFile(path.join(dir, pins.calico.file), "utf8");
    } else if (a.name === "aws-ccm") {
      const ccm = pins.cloudControllerManager;
      const dir = await goModDownload(ccm.module, ccm.version);
      log(`aws-ccm ${a.version}: helm template ${ccm.chart} of ${ccm.module}@${ccm.version}`);
      const values = ccmValues(ccm.image, a.version);
      await checkValues(path.join(dir, ccm.chart), values);
      raw.rendered[`${a.name}/${a.version}`] = await helmTemplate({
        release: "aws-cloud-controller-manager",
        chartDir: path.join(dir, ccm.chart),
        namespace: "kube-system",
        kubeVersion: a.version,
        values,
      });
    } else if (a.name === "nvidia-device-plugin") {
      const dp = pins.nvidiaDevicePlugin;
      const dir = await goModDownload(dp.module, dp.version);
      log(`nvidia-device-plugin ${a.version}: ${dp.file} of ${dp.module}@${dp.version}`);
      raw.rendered[`${a.name}/${a.version}`] = await readFile(path.join(dir, dp.file), "utf8");
    } else {
      const dir = await goModDownload(pins.ebsCsi.module, pins.ebsCsi.version);
      raw.ebsCsiTemplate = await readFile(path.join(dir, pins.ebsCsi.file), "utf8");
      const snap = pins.ebsCsi.snapshotter;
      log(`aws-ebs-csi ${a.version}: kustomize build ${snap.crdDir} of ${snap.crdModule}@${snap.version}`);
      log(`aws-ebs-csi ${a.version}: kustomize build ${snap.dir} of ${snap.module}@${snap.version}`);
      raw.snapshotCrds = await kustomizeBuild(await goModDownload(snap.crdModule, snap.version), snap.crdDir);
      raw.snapshotController = await kustomizeBuild(await goModDownload(snap.module, snap.version), snap.dir);
    }
  }
  return hydrate(pins, raw);
}

/** The Kubernetes version the CNI chart is rendered for (its templates gate on .Capabilities). */
const KUBE_VERSION_FOR_CHARTS = "v1.34.0";

/**
 * Cilium values: no certificate or Secret generated at render time (Hubble TLS off, relay/UI off: the chart's
 * helm-method certificates are random and would put keys in Git, install/kubernetes/cilium/templates/hubble/tls-helm);
 * IPAM from the node's podCIDR, so one payload fits every cluster: CAPI passes the Cluster's pod CIDR to kubeadm as
 * networking.podSubnet (cluster-api bootstrap/kubeadm/internal/controllers/kubeadmconfig_controller.go), and kubeadm
 * then runs kube-controller-manager with --allocate-node-cidrs. (The chart's default cluster-pool IPAM would hand out
 * 10.0.0.0/8, overlapping the VPC.)
 */
const CILIUM_VALUES = {
  ipam: { mode: "kubernetes" },
  hubble: { enabled: true, tls: { enabled: false }, relay: { enabled: false }, ui: { enabled: false } },
};

/**
 * CCM values: the image pinned for the minor (versions.json addons.cloudControllerManager; the chart's default tag
 * lags, and the CCM is released per Kubernetes minor); CAPA's flags and host networking
 * (templates/cluster-template.yaml): the CCM must not wait for the CNI, which may be the user's own (cni: none).
 */
const ccmValues = (image: string, tag: string) => ({
  image: { repository: image, tag },
  hostNetworking: true,
  args: ["--v=2", "--cloud-provider=aws", "--use-service-account-credentials=true", "--configure-cloud-routes=false"],
});
