/**
 * The CAPI/CAPA knowledge: the base objects (placeholder names, renamed per cluster by Kustomize patches),
 * the API versions, and the Kustomize configuration that teaches Kustomize the CAPI references.
 * CAPI core kinds are cluster.x-k8s.io/v1beta2 (served since CAPI v1.11, storage version); CAPA kinds are
 * infrastructure.cluster.x-k8s.io/v1beta2 (CAPA's v1beta1 is `served: false` since v2.4).
 */
import { SYNC_SAFE } from "../core/vocabulary.js";
import { API, GROUP, LABEL } from "../k8s/capi.js";
import type {
  AWSCluster,
  AWSMachinePool,
  AWSMachineTemplate,
  Cluster,
  KubeadmConfig,
  KubeadmConfigTemplate,
  KubeadmControlPlane,
  MachineDeployment,
  MachineHealthCheck,
  MachinePool,
} from "../k8s/kinds.generated.js";
import type { K8sObject } from "../k8s/object.js";

/** Placeholder names in the base; every cluster overlay renames them (and Kustomize updates the references). */
export const PLACEHOLDER = { cluster: "cluster", controlPlane: "control-plane", pool: "pool" } as const;

/**
 * Objects named by a hash of their content. Renaming is what rolls machines out (AWSMachineTemplate spec is
 * immutable, CAPA webhooks/awsmachinetemplate_webhook.go; a KubeadmConfig content edit does not refresh a
 * MachinePool unless the bootstrap secret name changes).
 */
export const HASH_NAMED_KINDS = ["AWSMachineTemplate", "KubeadmConfig", "KubeadmConfigTemplate"] as const;

/**
 * On every object the generator emits: Argo CD and Flux never prune or delete it. Old hash-named templates must
 * survive while machines still use them, and deleting CAPI/CAPA objects one by one (what a cascade prune does)
 * leaves AWS resources stuck — only deleting the Cluster object tears a cluster down in order.
 *
 * So any of them may be left behind when Git stops rendering it (an old template after a roll-out, an old add-on
 * ConfigMap, a renamed pool's objects). `IgnoreExtraneous` keeps such a leftover from holding the Application
 * OutOfSync forever: argo-cd v3.5.7 controller/state.go (CompareAppState) still marks the resource itself
 * OutOfSync, but leaves the Application's sync status alone when the object needs pruning and its live copy carries
 * `argocd.argoproj.io/compare-options: IgnoreExtraneous` (docs/user-guide/compare-options.md). It only matters for
 * an object that is no longer rendered, so it never hides drift of what Git still holds. `npm run leftovers` lists
 * the leftovers with the `kubectl delete` lines to run once they are unused.
 */

/** The object with the sync-safety annotations added. */
export function syncSafe<T extends K8sObject>(o: T): T {
  return { ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, ...SYNC_SAFE } } };
}

const ref = (apiGroup: string, kind: string, name: string) => ({ apiGroup, kind, name });
const kubeletArgs = [{ name: "cloud-provider", value: "external" }];
const nodeRegistration = () => ({
  name: "{{ ds.meta_data.local_hostname }}",
  kubeletExtraArgs: kubeletArgs.map((a) => ({ ...a })),
});

export const IAM_PROFILE = {
  controlPlane: "control-plane.cluster-api-provider-aws.sigs.k8s.io",
  nodes: "nodes.cluster-api-provider-aws.sigs.k8s.io",
} as const;

/** IMDSv2 only, hop limit 2 so pods behind the node can still reach it where needed. */
const metadataOptions = () =>
  ({ httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 2 }) as const;
const rootVolume = (size: number) => ({ size, type: "gp3", encrypted: true });

/**
 * A MachineHealthCheck — generated only where its owner remediates: Machines owned by a MachineSet (the
 * MachineDeployment pools) or by a KubeadmControlPlane with more than one replica. CAPI's MHC controller only marks
 * a Machine `OwnerRemediated=False` (internal/controllers/machinehealthcheck/machinehealthcheck_controller.go
 * patchUnhealthyTargets); the MachineSet (machineset_controller.go reconcileUnhealthyMachines) or KCP
 * (controlplane/kubeadm/internal/controllers/remediation.go; once the control plane is initialized it skips one of
 * ≤ 1 machine) replaces it.
 * A MachinePool's Machines have neither owner (docs/book/src/tasks/automated-machine-management/healthchecking.md):
 * no check is generated for them — the auto scaling group's EC2 health checks replace failed instances.
 */
function mhc(name: string, selector: Record<string, string>): MachineHealthCheck {
  return {
    apiVersion: API.core,
    kind: "MachineHealthCheck",
    metadata: { name },
    spec: {
      clusterName: PLACEHOLDER.cluster,
      selector: { matchLabels: selector },
      checks: {
        nodeStartupTimeoutSeconds: 900,
        unhealthyNodeConditions: [
          { type: "Ready", status: "Unknown", timeoutSeconds: 300 },
          { type: "Ready", status: "False", timeoutSeconds: 300 },
        ],
      },
      remediation: { triggerIf: { unhealthyLessThanOrEqualTo: "100%" } },
    },
  };
}

/** base/cluster: the cluster-level objects. */
export function clusterBaseObjects(): [Cluster, AWSCluster, KubeadmControlPlane, AWSMachineTemplate] {
  return [
    {
      apiVersion: API.core,
      kind: "Cluster",
      metadata: { name: PLACEHOLDER.cluster },
      spec: {
        clusterNetwork: { pods: { cidrBlocks: ["192.168.0.0/16"] }, services: { cidrBlocks: ["10.96.0.0/12"] } },
        controlPlaneRef: ref(GROUP.controlPlane, "KubeadmControlPlane", PLACEHOLDER.controlPlane),
        infrastructureRef: ref(GROUP.infra, "AWSCluster", PLACEHOLDER.cluster),
      },
    },
    {
      apiVersion: API.infra,
      kind: "AWSCluster",
      metadata: { name: PLACEHOLDER.cluster },
      spec: {
        region: "us-east-1",
        // CAPA's default is the deprecated classic ELB; an NLB with an HTTPS health check is the current choice.
        // crossZoneLoadBalancing: CAPA sets the NLB attribute load_balancing.cross_zone.enabled from it
        // (pkg/cloud/services/elb/loadbalancer.go; default false): without it an NLB node sends requests only to the
        // API servers of its own zone: uneven load, and a zone without a healthy control-plane machine (two of a
        // dev cluster's three) is served only once DNS drops its address.
        controlPlaneLoadBalancer: {
          loadBalancerType: "nlb",
          scheme: "internet-facing",
          healthCheckProtocol: "HTTPS",
          crossZoneLoadBalancing: true,
        },
        network: { vpc: { cidrBlock: "10.0.0.0/16" } },
      },
    },
    {
      apiVersion: API.controlPlane,
      kind: "KubeadmControlPlane",
      metadata: { name: PLACEHOLDER.controlPlane },
      spec: {
        replicas: 1,
        version: "v1.34.2",
        machineTemplate: {
          spec: { infrastructureRef: ref(GROUP.infra, "AWSMachineTemplate", PLACEHOLDER.controlPlane) },
        },
        kubeadmConfigSpec: {
          clusterConfiguration: { controllerManager: { extraArgs: [{ name: "cloud-provider", value: "external" }] } },
          initConfiguration: { nodeRegistration: nodeRegistration() },
          joinConfiguration: { nodeRegistration: nodeRegistration() },
        },
        rollout: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } } },
      },
    },
    {
      apiVersion: API.infra,
      kind: "AWSMachineTemplate",
      metadata: { name: PLACEHOLDER.controlPlane },
      spec: {
        template: {
          spec: {
            instanceType: "t3.large",
            iamInstanceProfile: IAM_PROFILE.controlPlane,
            instanceMetadataOptions: metadataOptions(),
            rootVolume: rootVolume(80),
          },
        },
      },
    },
  ];
}

/**
 * overlays/components/control-plane-health-check: the control plane's MachineHealthCheck, included only by clusters
 * whose KubeadmControlPlane has more than one replica. Once initialized, KCP skips remediating a control plane of
 * ≤ 1 machine (controlplane/kubeadm/internal/controllers/remediation.go "The cluster MUST have more than one
 * replica"); before that it would retry a failed first boot. The trade-off taken: no check for one replica (it would
 * act at most once, on the first boot, and never afterwards); validate's mhc-can-act warns on one added by hand.
 */
export function controlPlaneHealthCheckObjects(): [MachineHealthCheck] {
  return [mhc(PLACEHOLDER.controlPlane, { [LABEL.controlPlane]: "" })];
}

/**
 * The smallest initialized control plane KCP remediates (remediation.go: `Machines.Len() <= 1` is skipped once
 * initialized).
 */
export const MIN_REMEDIABLE_CONTROL_PLANE = 2;

/**
 * Instance refresh of every AWSMachinePool (CAPA exp/api/v1beta2/awsmachinepool_types.go RefreshPreferences, used by
 * pkg/cloud/services/autoscaling/autoscalinggroup.go StartASGInstanceRefresh): launch before terminate — 100 % of
 * the desired capacity stays healthy and up to 200 % may run, so a replacement is in service (and warmed up for
 * instanceWarmup seconds) before an old instance goes; a 1-node pool is never empty. The refresh still terminates
 * the old instance without draining it (CAPA has no drain for MachinePools): see validate/drain-rules.ts.
 */
export const REFRESH_PREFERENCES = {
  strategy: "Rolling",
  instanceWarmup: 300,
  minHealthyPercentage: 100,
  maxHealthyPercentage: 200,
} as const;

/**
 * MachineDeployment roll-outs: launch before terminate (one extra machine, none unavailable) — CAPI's webhook
 * default (internal/webhooks/machinedeployment.go), written out so validate can check it. Every old Machine is
 * deleted through the Machine controller, which cordons and drains its node first
 * (internal/controllers/machine/machine_controller.go reconcileDelete → drainNode).
 */
export const MD_ROLLOUT = {
  strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
} as const;

/** base/machinepool: one worker pool as a MachinePool (one auto scaling group over the pool's zones). */
export function machinePoolBaseObjects(): [MachinePool, AWSMachinePool, KubeadmConfig] {
  return [
    {
      apiVersion: API.core,
      kind: "MachinePool",
      metadata: { name: PLACEHOLDER.pool },
      spec: {
        clusterName: PLACEHOLDER.cluster,
        template: {
          metadata: { labels: { [LABEL.nodePool]: PLACEHOLDER.pool } },
          spec: {
            clusterName: PLACEHOLDER.cluster,
            version: "v1.34.2",
            bootstrap: { configRef: ref(GROUP.bootstrap, "KubeadmConfig", PLACEHOLDER.pool) },
            infrastructureRef: ref(GROUP.infra, "AWSMachinePool", PLACEHOLDER.pool),
          },
        },
      },
    },
    {
      apiVersion: API.infra,
      kind: "AWSMachinePool",
      metadata: { name: PLACEHOLDER.pool },
      spec: {
        minSize: 1,
        maxSize: 3,
        availabilityZones: ["us-east-1a"],
        // Only private subnets: without this CAPA may place nodes in public subnets (pkg/cloud/scope/shared.go).
        availabilityZoneSubnetType: "private",
        refreshPreferences: { ...REFRESH_PREFERENCES },
        awsLaunchTemplate: {
          instanceType: "t3.large",
          iamInstanceProfile: IAM_PROFILE.nodes,
          instanceMetadataOptions: metadataOptions(),
          rootVolume: rootVolume(80),
        },
      },
    },
    {
      apiVersion: API.bootstrap,
      kind: "KubeadmConfig",
      metadata: { name: PLACEHOLDER.pool },
      spec: { joinConfiguration: { nodeRegistration: nodeRegistration() } },
    },
  ];
}

/** base/machinedeployment/deployment: one MachineDeployment (the generator makes one per zone). */
export function machineDeploymentObjects(): [MachineDeployment] {
  return [
    {
      apiVersion: API.core,
      kind: "MachineDeployment",
      metadata: { name: PLACEHOLDER.pool },
      spec: {
        clusterName: PLACEHOLDER.cluster,
        rollout: structuredClone(MD_ROLLOUT),
        selector: { matchLabels: { [LABEL.deploymentName]: PLACEHOLDER.pool } },
        template: {
          metadata: { labels: { [LABEL.deploymentName]: PLACEHOLDER.pool, [LABEL.nodePool]: PLACEHOLDER.pool } },
          spec: {
            clusterName: PLACEHOLDER.cluster,
            version: "v1.34.2",
            failureDomain: "us-east-1a",
            bootstrap: { configRef: ref(GROUP.bootstrap, "KubeadmConfigTemplate", PLACEHOLDER.pool) },
            infrastructureRef: ref(GROUP.infra, "AWSMachineTemplate", PLACEHOLDER.pool),
          },
        },
      },
    },
  ];
}

/** base/machinedeployment/templates: what the MachineDeployments of one pool share. */
export function machineDeploymentTemplateObjects(): [AWSMachineTemplate, KubeadmConfigTemplate, MachineHealthCheck] {
  return [
    {
      apiVersion: API.infra,
      kind: "AWSMachineTemplate",
      metadata: { name: PLACEHOLDER.pool },
      spec: {
        template: {
          spec: {
            instanceType: "t3.large",
            iamInstanceProfile: IAM_PROFILE.nodes,
            instanceMetadataOptions: metadataOptions(),
            rootVolume: rootVolume(80),
          },
        },
      },
    },
    {
      apiVersion: API.bootstrap,
      kind: "KubeadmConfigTemplate",
      metadata: { name: PLACEHOLDER.pool },
      spec: { template: { spec: { joinConfiguration: { nodeRegistration: nodeRegistration() } } } },
    },
    mhc(PLACEHOLDER.pool, { [LABEL.nodePool]: PLACEHOLDER.pool }),
  ];
}

/**
 * Kustomize `configurations:` teaching it the CAPI references of the cluster level, so a rename (patch on
 * /metadata/name) updates every reference to the renamed object in the same build. Pool-level references use
 * replacements instead (see plan/cluster.ts): every pool starts from the placeholder name "pool", and Kustomize's
 * name-reference pass, which also runs again in the parent build, finds several candidates once two pools meet.
 */
const fieldSpec = (kind: string, path: string) => ({ kind, path });
export function clusterReferenceConfig(): Record<string, unknown> {
  return {
    nameReference: [
      { kind: "AWSCluster", fieldSpecs: [fieldSpec("Cluster", "spec/infrastructureRef/name")] },
      { kind: "KubeadmControlPlane", fieldSpecs: [fieldSpec("Cluster", "spec/controlPlaneRef/name")] },
      {
        kind: "AWSMachineTemplate",
        fieldSpecs: [fieldSpec("KubeadmControlPlane", "spec/machineTemplate/spec/infrastructureRef/name")],
      },
    ],
  };
}

/** Pool-level references: [source kind, referrer kind, referrer field]. */
export const POOL_REFERENCES = {
  MachinePool: [
    ["AWSMachinePool", "spec.template.spec.infrastructureRef.name"],
    ["KubeadmConfig", "spec.template.spec.bootstrap.configRef.name"],
  ],
  MachineDeployment: [
    ["AWSMachineTemplate", "spec.template.spec.infrastructureRef.name"],
    ["KubeadmConfigTemplate", "spec.template.spec.bootstrap.configRef.name"],
  ],
} as const;
