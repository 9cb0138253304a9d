/**
 * management/providers/: the management cluster's own Cluster API providers, declared for the cluster-api-operator
 * (operator.cluster.x-k8s.io/v1alpha2, sigs.k8s.io/cluster-api-operator in versions.json). One Namespace and one
 * provider object per provider; names and namespaces follow the operator's docs and Helm chart (docs/README.md,
 * hack/charts/cluster-api-operator/templates/): the object's name is the clusterctl provider name ("cluster-api",
 * "kubeadm", "aws"), which is also how the operator finds the provider's release without a fetchConfig.
 *
 * Versions come from versions.json only: the CAPI providers run the pinned CAPI release, the AWS provider the pinned
 * CAPA release — the same versions whose CRDs the repository is validated against.
 *
 * The MachinePool feature gate is set on the core provider (CAPI's default is already true, set anyway so the
 * repository does not depend on it) and on the AWS provider (CAPA's manager.yaml has
 * MachinePool=${EXP_MACHINE_POOL:=false}).
 * The AWS provider also gets MachinePoolMachines (CAPA feature/feature.go, default false): only with it does the
 * AWSMachinePool controller report `status.infrastructureMachineKind: AWSMachine` and create one AWSMachine per
 * instance (exp/controllers/awsmachinepool_controller.go, awsmachinepool_machines.go), for which CAPI's MachinePool
 * controller creates Machines carrying the pool template's labels (internal/controllers/machinepool/
 * machinepool_controller_phases.go). Without it a MachinePool has no Machines. No MachineHealthCheck remediates them
 * either way (only a MachineSet's or a KCP's Machines are: validate/drain-rules.ts), so none is generated for them.
 * The operator merges spec.manager.featureGates into the manager's existing --feature-gates argument
 * (internal/controller/component_customizer.go), so the other gates keep their defaults.
 *
 * AWS credentials are never in Git: the AWS provider names the Secret (spec.configSecret); the Secret itself is
 * created outside this repository. Every object here is exempt from Argo CD/Flux pruning and deletion: removing a
 * provider or its namespace by a sync would take the management cluster's controllers away.
 *
 * Pure: the pinned versions are an input (versions.ts reads them; planRepo passes them on).
 */
import { PlanError } from "../core/errors.js";
import type { Pins } from "../pins/versions.js";
import { toYaml } from "../core/yaml.js";
import type {
  BootstrapProvider,
  ControlPlaneProvider,
  CoreProvider,
  InfrastructureProvider,
  Namespace,
} from "../k8s/kinds.generated.js";
import type { K8sObject } from "../k8s/object.js";
import { SYNC_SAFE, SYNC_WAVE } from "../core/vocabulary.js";
import { type OutputFile, owned } from "./files.js";
import { KUSTOMIZATION } from "./kustomize-objects.js";
import { waveOf } from "./management.js";
import { PROVIDERS_DIR } from "../core/layout.js";
import { CAPA_CREDENTIALS_SECRET, PROVIDERS, type ProviderDef } from "../core/providers.js";

/** sync.ts lists the provider namespaces from here. */

export const OPERATOR_API = "operator.cluster.x-k8s.io/v1alpha2";

/** Argo CD and Flux never prune or delete these objects (the same annotations as every cluster object). */
export const NEVER_PRUNE_OR_DELETE = SYNC_SAFE;

function pinnedVersion(pins: Pins, key: ProviderDef["versionFrom"]): string {
  const pin = pins.crds[key];
  if (!pin) throw new PlanError(`versions.json has no crds["${key}"]`);
  return pin.version;
}

/** Never pruned or deleted, and in the management layer's providers wave (after cert-manager and the operator). */
const annotations = () => ({ ...NEVER_PRUNE_OR_DELETE, [SYNC_WAVE]: String(waveOf("providers")) });

function namespaceObject(name: string): Namespace {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, annotations: annotations() } };
}

function providerObject(
  p: ProviderDef,
  pins: Pins,
): CoreProvider | BootstrapProvider | ControlPlaneProvider | InfrastructureProvider {
  return {
    apiVersion: OPERATOR_API,
    kind: p.kind,
    metadata: { name: p.name, namespace: p.namespace, annotations: annotations() },
    spec: {
      version: pinnedVersion(pins, p.versionFrom),
      manager: p.machinePoolGate
        ? { featureGates: { MachinePool: true, ...Object.fromEntries((p.extraGates ?? []).map((g) => [g, true])) } }
        : undefined,
      // The operator requires the Secret in the provider's namespace.
      configSecret: p.configSecret ? { name: p.configSecret, namespace: p.namespace } : undefined,
    },
  };
}

/** Every object under management/providers/: each provider's Namespace, then the provider. */
export function providerObjects(pins: Pins): K8sObject[] {
  return PROVIDERS.flatMap((p) => [namespaceObject(p.namespace), providerObject(p, pins)]);
}

const fileName = (o: K8sObject): string => `${o.kind.toLowerCase()}-${o.metadata.name}.yaml`;

export const PROVIDERS_KUSTOMIZATION_HEADER =
  `# AWS credentials are not in Git: the Secret ${CAPA_CREDENTIALS_SECRET} (AWS_B64ENCODED_CREDENTIALS) in ` +
  `${PROVIDERS.find((p) => p.configSecret)?.namespace ?? "capa-system"} is created outside this repository.`;

export function planProviders(pins: Pins): OutputFile[] {
  const objects = providerObjects(pins);
  const names = objects.map(fileName);
  if (new Set(names).size !== names.length) throw new PlanError("two provider objects share a file name");
  return [
    ...objects.map((o) => owned(`${PROVIDERS_DIR}/${fileName(o)}`, toYaml(o))),
    owned(
      `${PROVIDERS_DIR}/kustomization.yaml`,
      toYaml({ ...KUSTOMIZATION, resources: names }, PROVIDERS_KUSTOMIZATION_HEADER),
    ),
  ];
}
