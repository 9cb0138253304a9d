/**
 * What a pool's spec becomes on its kubelet's command line: plan/cluster.ts writes it into the KubeadmConfig,
 * parse.ts checks its length against the KubeadmConfig schema, import/ reads it back.
 */

/** A kubeletExtraArgs entry (KubeadmConfig v1beta2 `Arg`). */
export interface KubeletArg {
  name: string;
  value: string;
}

/** The kubelet argument that sets a pool's node labels (`node-labels=k=v,…`, keys sorted); none without labels. */
export const nodeLabelArgs = (labels: Record<string, string>): KubeletArg[] => {
  const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1));
  return entries.length ? [{ name: "node-labels", value: entries.map(([k, v]) => `${k}=${v}`).join(",") }] : [];
};
