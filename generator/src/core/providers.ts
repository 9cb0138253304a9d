/**
 * The management cluster's Cluster API providers as the cluster-api-operator knows them: kind, clusterctl name,
 * namespace, the pinned release each runs and its feature gates. plan/providers.ts writes management/providers/
 * from this list; cluster-spec/reserved.ts keeps clusters out of the namespaces.
 */

/** The Secret (key AWS_B64ENCODED_CREDENTIALS) the AWS provider reads; created outside this repository. */
export const CAPA_CREDENTIALS_SECRET = "capa-variables";

export type ProviderKind = "CoreProvider" | "BootstrapProvider" | "ControlPlaneProvider" | "InfrastructureProvider";

export interface ProviderDef {
  kind: ProviderKind;
  /** The clusterctl provider name. */
  name: string;
  namespace: string;
  /** Key of versions.json "crds" whose version this provider runs. */
  versionFrom: "cluster-api" | "cluster-api-provider-aws";
  machinePoolGate: boolean;
  /** Further gates set true on this provider's manager. */
  extraGates?: readonly string[];
  configSecret?: string;
}

export const PROVIDERS: readonly ProviderDef[] = [
  {
    kind: "CoreProvider",
    name: "cluster-api",
    namespace: "capi-system",
    versionFrom: "cluster-api",
    machinePoolGate: true,
  },
  {
    kind: "BootstrapProvider",
    name: "kubeadm",
    namespace: "capi-kubeadm-bootstrap-system",
    versionFrom: "cluster-api",
    machinePoolGate: false,
  },
  {
    kind: "ControlPlaneProvider",
    name: "kubeadm",
    namespace: "capi-kubeadm-control-plane-system",
    versionFrom: "cluster-api",
    machinePoolGate: false,
  },
  {
    kind: "InfrastructureProvider",
    name: "aws",
    namespace: "capa-system",
    versionFrom: "cluster-api-provider-aws",
    machinePoolGate: true,
    extraGates: ["MachinePoolMachines"],
    configSecret: CAPA_CREDENTIALS_SECRET,
  },
];
