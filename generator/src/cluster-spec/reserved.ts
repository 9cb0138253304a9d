/**
 * Namespaces a cluster must never use: its objects would land beside the management cluster's own controllers, the
 * AppProject would let Argo CD sync into them, and `remove-cluster` would tell the user to delete them. One list:
 * Kubernetes' own, the providers' (core/providers.ts; plan/providers.ts writes management/providers/ from it), the
 * cluster-api-operator's and cert-manager's (both installed before the providers), and the sync engine's.
 */
import { PROVIDERS } from "../core/providers.js";

/** The part of capi-gitops.yaml that names namespaces: where it runs Argo CD and Flux. */
export interface EngineNamespaces {
  argocd: { namespace: string };
  flux: { namespace: string };
}

export const KUBERNETES_NAMESPACES = ["default", "kube-node-lease", "kube-public", "kube-system"] as const;
/** The cluster-api-operator's namespace (its Helm chart's and docs' default) and cert-manager's (it needs it). */
export const OPERATOR_NAMESPACE = "capi-operator-system";
export const CERT_MANAGER_NAMESPACE = "cert-manager";
/** Where each engine runs unless capi-gitops.yaml says otherwise (their install manifests' namespaces). */
export const ENGINE_NAMESPACES = { argocd: "argocd", flux: "flux-system" } as const;

/** The reserved namespaces; with a config, also the namespaces it runs Argo CD and Flux in. Sorted. */
export function reservedNamespaces(config?: EngineNamespaces): string[] {
  const engines = config ? [config.argocd.namespace, config.flux.namespace] : [];
  return [
    ...new Set([
      ...KUBERNETES_NAMESPACES,
      ...PROVIDERS.map((p) => p.namespace),
      OPERATOR_NAMESPACE,
      CERT_MANAGER_NAMESPACE,
      ...Object.values(ENGINE_NAMESPACES),
      ...engines,
    ]),
  ].sort();
}

/** Why `namespace` may not hold a cluster, or undefined. */
export function reservedNamespaceProblem(namespace: string, config?: EngineNamespaces): string | undefined {
  if (!reservedNamespaces(config).includes(namespace)) return undefined;
  return (
    `namespace "${namespace}" is reserved (Kubernetes, the Cluster API providers, cert-manager or the GitOps ` +
    `engine run there; reserved: ${reservedNamespaces(config).join(", ")}); choose a namespace of the ` +
    "cluster's own (the default is the cluster's name)"
  );
}
