/**
 * The words every layer shares, defined once: the API versions this tool writes, and the annotations that say how a
 * GitOps engine treats an object. Paths of the repository are core/layout.ts; secret patterns core/secrets.ts.
 */

/** The API version of the documents a human edits: `capi-gitops.yaml` and `clusters/<name>/cluster.yaml`. */
export const CAPI_GITOPS_API_VERSION = "capi-gitops.io/v1alpha1";

/** Argo CD's per-object sync options (argo-cd docs/user-guide/sync-options.md). */
export const ARGO_SYNC_OPTIONS = "argocd.argoproj.io/sync-options";
/** Argo CD's per-object compare options (argo-cd docs/user-guide/compare-options.md). */
export const ARGO_COMPARE_OPTIONS = "argocd.argoproj.io/compare-options";
/** Flux's per-object prune switch (kustomize-controller docs, "Garbage collection"). */
export const FLUX_PRUNE = "kustomize.toolkit.fluxcd.io/prune";
/** Flux's per-object server-side apply policy (kustomize-controller docs, "Controlling the apply behavior"). */
export const FLUX_SSA = "kustomize.toolkit.fluxcd.io/ssa";
/**
 * Argo CD's sync-wave annotation (argo-cd v3.5.7 docs/user-guide/sync-waves.md): lower waves sync and turn healthy
 * first.
 */
export const SYNC_WAVE = "argocd.argoproj.io/sync-wave";

/**
 * The sync-safety annotations of every generated object (why: plan/capi.ts `syncSafe`): Argo CD never prunes nor
 * deletes it and ignores it once extraneous; Flux never prunes it.
 */
export const SYNC_SAFE = {
  [ARGO_SYNC_OPTIONS]: "Prune=false,Delete=false",
  [ARGO_COMPARE_OPTIONS]: "IgnoreExtraneous",
  [FLUX_PRUNE]: "disabled",
} as const;
