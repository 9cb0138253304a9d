/**
 * The health checks capi-gitops generates for the CAPI/CAPA kinds, for Argo CD (Lua, `argocd-cm`
 * `resource.customizations.health.<group>_<Kind>`) and Flux (CEL, Kustomization `spec.healthCheckExprs`).
 * This shape is what the health/ Go module (capi-gitops-health) reads: `check` parses/compiles it, `eval` runs it
 * on objects the way each engine does.
 */

/** One Flux `healthCheckExprs` entry (kustomize-controller ≥ v1.5; CEL over the object). */
export interface FluxHealthExpr {
  apiVersion: string;
  kind: string;
  current: string;
  inProgress?: string;
  failed?: string;
}

export interface HealthChecks {
  /** `<group>_<Kind>` (Argo CD's key suffix, e.g. `cluster.x-k8s.io_Cluster`) → the Lua script. */
  argo: Record<string, string>;
  flux: FluxHealthExpr[];
}
