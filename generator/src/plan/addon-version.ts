/**
 * The Kubernetes version the version-bound add-ons (the AWS cloud-controller-manager, the cluster-autoscaler) follow.
 * Pure.
 *
 * The CCM must not be newer than kube-apiserver; it may be one minor older, to allow live upgrades (version-skew
 * policy: https://kubernetes.io/releases/version-skew-policy/ "kube-controller-manager, kube-scheduler, and
 * cloud-controller-manager").
 * A ClusterResourceSet with `strategy: Reconcile` re-applies a changed payload at once
 * (CAPI exp/addons/internal/controllers/clusterresourceset_controller.go), i.e. when the change merges, not when the
 * control plane has rolled. So during a staged upgrade (plan/upgrade.ts) the add-ons stay one minor behind while the
 * control plane moves (step 1: the pools are still on the old minor), and follow in step 2, the pools' step, when
 * every API server already runs the new minor. validate accepts exactly that one minor behind while a pool is
 * behind the control plane (validate/addon-rules.ts, validate/rules.ts `autoscaler-minor`).
 */
import semver from "semver";
import type { ClusterSpec } from "../cluster-spec/types.js";

const parse = (v: string): semver.SemVer | null => semver.parse(v.replace(/^v/, ""));

/**
 * The control plane's version when no pool runs an older minor; while one does (an upgrade in progress), a version of
 * the previous minor (the newest pool version of that minor, else `v<major>.<minor-1>.0`).
 */
export function addonKubernetesVersion(spec: Pick<ClusterSpec, "kubernetesVersion" | "nodePools">): string {
  const cp = parse(spec.kubernetesVersion);
  if (!cp) return spec.kubernetesVersion;
  const pools = spec.nodePools
    .flatMap((p) => (p.kubernetesVersion ? [parse(p.kubernetesVersion)] : []))
    .filter((v): v is semver.SemVer => v !== null);
  if (!pools.some((v) => v.major === cp.major && v.minor < cp.minor)) return spec.kubernetesVersion;
  const previous = pools
    .filter((v) => v.major === cp.major && v.minor === cp.minor - 1)
    .sort(semver.compare)
    .at(-1);
  return `v${previous ? previous.version : `${cp.major}.${cp.minor - 1}.0`}`;
}
