/**
 * Pod and service CIDR sizes that the cluster's own Kubernetes components refuse, per Kubernetes minor (pure data +
 * one check). Read in the kube-apiserver / kube-controller-manager sources (k8s.io/kubernetes v1.30.14 and v1.35.4):
 *
 * - Pod CIDR: kube-controller-manager's node IPAM gives every node a /24 out of the cluster CIDR
 *   (cmd/kube-controller-manager/app/core.go: defaultNodeMaskCIDRIPv4 = 24; kubeadm sets no other mask for IPv4), so
 *   the pod CIDR must hold at least one /24 (pkg/controller/nodeipam/ipam/cidrset/cidr_set.go carves node CIDRs of
 *   the node mask out of the cluster CIDR). The same in every supported minor.
 * - Service CIDR, smallest: at least 8 addresses (/29) in every supported minor
 *   (pkg/controlplane/apiserver/options/options.go ServiceIPRange: "the service cluster IP range must be at least 8
 *   IP addresses").
 * - Service CIDR, largest: cmd/kube-apiserver/app/options/validation.go validateClusterIPFlags refuses a range with
 *   more than 20 host bits (maxCIDRBits = 20, so IPv4 /12 at the largest) while the old bitmap allocator is in use:
 *   in v1.30 unless MultiCIDRServiceAllocator is on; from v1.31 unless both MultiCIDRServiceAllocator and
 *   DisableAllocatorDualWrite are on. Their defaults (pkg/features/kube_features.go): MultiCIDRServiceAllocator
 *   alpha 1.27, beta 1.31 (off), GA on 1.33, locked 1.34; DisableAllocatorDualWrite alpha 1.31, beta 1.33 (off),
 *   GA on 1.34, locked 1.35. So with default gates the /12 limit holds up to v1.33 and is gone from v1.34 (the
 *   IPAddress allocator keeps no bitmap in etcd).
 */
import { checkIpv4Cidr } from "./cidr.js";

/** Node CIDR mask kube-controller-manager uses for IPv4 by default (all supported minors). */
export const NODE_CIDR_MASK_IPV4 = 24;

interface ServiceCidrLimits {
  /** The first Kubernetes minor (1.x) these limits apply to; each row holds until the next row's minor. */
  fromMinor: number;
  /** The largest range: the smallest prefix length kube-apiserver accepts (undefined: no upper size limit). */
  largestPrefix?: number;
  /** The smallest range: the largest prefix length kube-apiserver accepts. */
  smallestPrefix: number;
}

/** Keyed by Kubernetes minor, ascending. */
export const SERVICE_CIDR_LIMITS: readonly ServiceCidrLimits[] = [
  { fromMinor: 30, largestPrefix: 12, smallestPrefix: 29 },
  { fromMinor: 34, largestPrefix: undefined, smallestPrefix: 29 },
];

export function serviceCidrLimits(minor: number): ServiceCidrLimits | undefined {
  return [...SERVICE_CIDR_LIMITS].reverse().find((r) => minor >= r.fromMinor);
}

export interface CidrSizeProblem {
  path: "network.podCidr" | "network.serviceCidr";
  message: string;
}

/**
 * What the cluster's Kubernetes (1.`minor`) would refuse about the pod and service CIDR sizes; invalid CIDRs are left
 * to the caller.
 */
export function kubeCidrSizeProblems(minor: number, podCidr: string, serviceCidr: string): CidrSizeProblem[] {
  const out: CidrSizeProblem[] = [];
  const pod = checkIpv4Cidr(podCidr);
  if (pod.ok && pod.prefix > NODE_CIDR_MASK_IPV4)
    out.push({
      path: "network.podCidr",
      message:
        `${podCidr} is smaller than one node's pod range: kube-controller-manager gives each node a ` +
        `/${NODE_CIDR_MASK_IPV4}, so no node would get pod addresses; use a /${NODE_CIDR_MASK_IPV4} or larger ` +
        "(e.g. 192.168.0.0/16)",
    });
  const svc = checkIpv4Cidr(serviceCidr);
  const limits = serviceCidrLimits(minor);
  if (svc.ok && limits) {
    if (limits.largestPrefix !== undefined && svc.prefix < limits.largestPrefix)
      out.push({
        path: "network.serviceCidr",
        message:
          `${serviceCidr} is larger than kube-apiserver v1.${minor} accepts (IPv4 service ranges of ` +
          `/${limits.largestPrefix} at most, "--service-cluster-ip-range is too large"); use a ` +
          `/${limits.largestPrefix} or smaller (e.g. 10.96.0.0/12)`,
      });
    if (svc.prefix > limits.smallestPrefix)
      out.push({
        path: "network.serviceCidr",
        message:
          `${serviceCidr} is smaller than kube-apiserver accepts (at least 8 addresses, a ` +
          `/${limits.smallestPrefix}); use a larger range (e.g. 10.96.0.0/12)`,
      });
  }
  return out;
}
