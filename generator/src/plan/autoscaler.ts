/**
 * One cluster-autoscaler per cluster that has an autoscaled pool: clusters/<name>/generated/autoscaler/ (owned), a
 * Deployment on the management cluster in the cluster's namespace, with its ServiceAccount and a namespaced
 * Role/RoleBinding. None when no pool autoscales (the generated kustomization then does not list the folder).
 *
 * Upstream (kubernetes/autoscaler, cluster-autoscaler/cloudprovider/clusterapi/):
 * - README.md "Autoscaler running in management cluster using service account credentials, with separate workload
 *   cluster": in-cluster config for the management cluster, `--kubeconfig` for the workload cluster and
 *   `--clusterapi-cloud-config-authoritative` (clusterapi_provider.go BuildClusterAPI: without it an empty
 *   `--cloud-config` would fall back to the workload kubeconfig for the management cluster too);
 * - clusterapi_controller.go newMachineController: the management informers are built with
 *   `NewFilteredDynamicSharedInformerFactory(…, namespaceToWatch(autoDiscoverySpecs), …)`, so an auto-discovery spec
 *   naming the namespace makes every list/watch namespaced, and a Role (not a ClusterRole) is enough;
 * - examples/deployment.yaml: the management Role's rules (machinedeployments, /scale, machines, machinesets: get,
 *   list, update, watch); MachinePools and their /scale likewise (the controller syncs a MachinePool informer when the
 *   API is served, clusterapi_controller.go run); README "RBAC changes for scaling from zero": get/list/watch on the
 *   infrastructure templates (AWSMachineTemplate for MachineDeployments, AWSMachinePool for MachinePools).
 *
 * Scale-down drains (README "Scale-down and roll-outs drain nodes"): the autoscaler evicts the node's pods, then the
 * clusterapi provider marks the node's Machine with `cluster.x-k8s.io/delete-machine` and lowers the
 * MachineDeployment's replicas; CAPI's MachineSet deletes the marked Machine first
 * (internal/controllers/machineset/machineset_deletion_order.go) and the Machine controller cordons and drains the node
 * before the instance goes (internal/controllers/machine/machine_controller.go reconcileDelete → drainNode). A
 * MachinePool ignores that mark (no MachineSet): validate/drain-rules.ts.
 *
 * Zone spread: a pool is one MachineDeployment per zone (plan/cluster.ts); `--balance-similar-node-groups` makes the
 * autoscaler treat them as one group and keep their sizes even, as one auto scaling group over the zones would. The
 * labels that differ between zones by nature are ignored when comparing groups: the zone labels the AWS
 * cloud-controller-manager sets (k8s.io/cloud-provider-aws pkg/providers/v1/well_known_labels.go: zone id, network
 * node layers) and the EBS CSI driver's topology label (the kubelet copies it onto the Node).
 * The workload cluster is reached with CAPI's admin kubeconfig Secret `<cluster>-kubeconfig` (mounted, never read
 * through the API: the Role grants no Secrets).
 */
import type { ClusterSpec } from "../cluster-spec/types.js";
import { PlanError } from "../core/errors.js";
import { GROUP, kubeconfigSecret } from "../k8s/capi.js";
import type { K8sObject } from "../k8s/object.js";
import type { Pins } from "../pins/versions.js";
import { toYaml } from "../core/yaml.js";
import { type OutputFile, owned } from "./files.js";
import { KUSTOMIZATION } from "./kustomize-objects.js";
import { clusterDir } from "../core/layout.js";
import { addonKubernetesVersion } from "./addon-version.js";

/** The folder, relative to clusters/<name>/generated, that holds the autoscaler's objects. */
export const AUTOSCALER_DIR = "autoscaler";
/** The container name and the app.kubernetes.io/name label of every generated autoscaler. */
const AUTOSCALER_APP = "cluster-autoscaler";
const KUBECONFIG_MOUNT = "/etc/kubernetes/workload";

/**
 * Node labels that differ between the zones of one pool, ignored when the autoscaler balances its MachineDeployments.
 */
export const BALANCING_IGNORED_LABELS = [
  "topology.ebs.csi.aws.com/zone",
  "topology.k8s.aws/zone-id",
  "topology.k8s.aws/network-node-layer-1",
  "topology.k8s.aws/network-node-layer-2",
  "topology.k8s.aws/network-node-layer-3",
] as const;

/** Whether the cluster needs an autoscaler: some pool scales between minSize and maxSize. */
export const autoscales = (spec: ClusterSpec): boolean => spec.nodePools.some((p) => Boolean(p.autoscaling));

/** "v1.34.2" → "1.34". */
const minorOf = (version: string): string => version.replace(/^v/, "").split(".").slice(0, 2).join(".");

/**
 * The pinned autoscaler image for the cluster's (control plane's) Kubernetes minor; one minor behind while the pools
 * are, like the CCM (plan/addon-version.ts).
 */
function autoscalerImage(spec: ClusterSpec, pins: Pins): string {
  const minor = minorOf(addonKubernetesVersion(spec));
  const tag = pins.clusterAutoscaler.byMinor[minor];
  if (!tag)
    throw new PlanError(
      `cluster ${spec.name}: no cluster-autoscaler is pinned for Kubernetes ${minor} (versions.json ` +
        `clusterAutoscaler.byMinor has ${Object.keys(pins.clusterAutoscaler.byMinor).join(", ")}); pin one ` +
        "there or set autoscaling: false on every pool",
    );
  return `${pins.clusterAutoscaler.image}:${tag}`;
}

/** The autoscaler's objects for one cluster (none when no pool autoscales). */
export function autoscalerObjects(spec: ClusterSpec, pins: Pins): K8sObject[] {
  if (!autoscales(spec)) return [];
  const name = `${spec.name}-${AUTOSCALER_APP}`;
  const namespace = spec.namespace;
  const labels = {
    "app.kubernetes.io/name": AUTOSCALER_APP,
    "app.kubernetes.io/instance": spec.name,
    "app.kubernetes.io/part-of": "capi-gitops",
  };
  const secret = kubeconfigSecret(spec.name);
  const rw = ["get", "list", "update", "watch"];
  const serviceAccount: K8sObject = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace, labels } };
  const role: K8sObject = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name, namespace, labels },
    rules: [
      {
        apiGroups: [GROUP.core],
        resources: [
          "machinedeployments",
          "machinedeployments/scale",
          "machinepools",
          "machinepools/scale",
          "machinesets",
          "machines",
        ],
        verbs: rw,
      },
      {
        apiGroups: [GROUP.infra],
        resources: ["awsmachinepools", "awsmachinetemplates"],
        verbs: ["get", "list", "watch"],
      },
    ],
  };
  const roleBinding: K8sObject = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name, namespace, labels },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
    subjects: [{ kind: "ServiceAccount", name, namespace }],
  };
  const deployment: K8sObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { "app.kubernetes.io/name": AUTOSCALER_APP, "app.kubernetes.io/instance": spec.name } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: name,
          terminationGracePeriodSeconds: 10,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            runAsGroup: 65532,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: AUTOSCALER_APP,
              image: autoscalerImage(spec, pins),
              command: ["/cluster-autoscaler"],
              args: [
                "--cloud-provider=clusterapi",
                `--kubeconfig=${KUBECONFIG_MOUNT}/${secret.key}`,
                "--clusterapi-cloud-config-authoritative",
                `--node-group-auto-discovery=clusterapi:namespace=${namespace},clusterName=${spec.name}`,
                "--balance-similar-node-groups",
                ...BALANCING_IGNORED_LABELS.map((l) => `--balancing-ignore-label=${l}`),
              ],
              resources: { requests: { cpu: "100m", memory: "300Mi" }, limits: { memory: "600Mi" } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
              },
              volumeMounts: [{ name: "workload-kubeconfig", mountPath: KUBECONFIG_MOUNT, readOnly: true }],
            },
          ],
          // CAPI writes the Secret once the control plane is reachable; until then the pod waits for the volume.
          volumes: [
            {
              name: "workload-kubeconfig",
              secret: { secretName: secret.name, items: [{ key: secret.key, path: secret.key }] },
            },
          ],
        },
      },
    },
  };
  return [serviceAccount, role, roleBinding, deployment];
}

/**
 * clusters/<name>/generated/autoscaler/: one file per object and a kustomization listing them; nothing without
 * autoscaled pools.
 */
export function planAutoscaler(spec: ClusterSpec, pins: Pins): OutputFile[] {
  const objects = autoscalerObjects(spec, pins);
  if (objects.length === 0) return [];
  const dir = `${clusterDir(spec.name)}/generated/${AUTOSCALER_DIR}`;
  const file = (o: K8sObject) => `${o.kind.toLowerCase()}.yaml`;
  return [
    ...objects.map((o) => owned(`${dir}/${file(o)}`, toYaml(o))),
    owned(`${dir}/kustomization.yaml`, toYaml({ ...KUSTOMIZATION, resources: objects.map(file) })),
  ];
}
