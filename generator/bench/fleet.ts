/**
 * A synthetic fleet for the benchmark: N cluster specs written the way `new-cluster` writes them (every default
 * spelled out, via the project's own applyDefaults + specFile), varied in region, zones, profile, worker kind,
 * node pools and Kubernetes version, each with its own namespace and VPC CIDR, its own image lookup and a restricted
 * API (so the fleet validates clean), plus the repository config. The generated tree is left to `npm run generate`
 * (measured as (d)).
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { specFile } from "../src/plan/cluster.js";
import { applyDefaults, type SpecInput } from "../src/cluster-spec/parse.js";
import { knownRegions, zonesOf } from "../src/cluster-spec/regions.js";

export const CONFIG_TEXT = `apiVersion: capi-gitops.io/v1alpha1
kind: RepositoryConfig
repoURL: https://github.com/example-org/fleet.git
branch: main
gitops: argocd
`;

// Minors with a pinned cloud-controller-manager (versions.json addons.cloudControllerManager.byMinor): the fleet
// validates clean.
const VERSIONS = ["v1.34.2", "v1.33.4", "v1.35.1"];
const INSTANCE_TYPES = ["m6i.large", "m6i.xlarge", "c6i.2xlarge", "r6i.xlarge", "t3.large"];

/** The AWS account whose images the fleet's machines look up (an example account). */
export const FLEET_IMAGE_ORG = "123456789012";

export const clusterName = (i: number): string => `c${String(i).padStart(5, "0")}`;

/** The i-th cluster's spec input (deterministic). */
export function specInput(i: number): SpecInput {
  const regions = knownRegions();
  const region = regions[i % regions.length]!;
  const zones = zonesOf(region)!;
  const profile = i % 3 === 0 ? "prod" : "dev";
  // MachineDeployments (the default, drained on every removal); every fourth dev cluster on MachinePools (accepted
  // with a workers-drain warning outside prod, refused for prod: validate/drain-rules.ts).
  const workers = i % 4 === 3 && profile !== "prod" ? "MachinePool" : "MachineDeployment";
  const poolCount = 1 + (i % 3);
  const nodePools = Array.from({ length: poolCount }, (_, p) => {
    const availabilityZones = p === 0 ? zones.slice(0, 3) : zones.slice(0, 1 + ((i + p) % Math.min(3, zones.length)));
    // A prod pool keeps a node in every zone (validate's pool-zone-empty); dev pools may start with empty zones.
    const minSize = profile === "prod" ? Math.max(1 + p, availabilityZones.length) : 1 + p;
    return {
      name: ["general", "batch", "gpu"][p]!,
      instanceType: INSTANCE_TYPES[(i + p) % INSTANCE_TYPES.length]!,
      availabilityZones,
      ...(p === 1 ? { autoscaling: false, minSize: 3, maxSize: 3 } : { minSize, maxSize: 6 + p }),
      ...(p === 2 ? { labels: { team: `t${i % 7}` } } : {}),
    };
  });
  // Unique VPC CIDR per cluster: 10.<i/16>.<(i%16)*16>.0/20 stays below the default service CIDR 10.96.0.0/12.
  const vpcCidr = `10.${Math.floor(i / 16)}.${(i % 16) * 16}.0/20`;
  return {
    apiVersion: "capi-gitops.io/v1alpha1",
    kind: "ClusterSpec",
    name: clusterName(i),
    region,
    availabilityZones: zones.slice(0, 3),
    kubernetesVersion: VERSIONS[i % VERSIONS.length],
    profile,
    workers,
    controlPlane: { replicas: profile === "prod" ? 3 : 1 },
    nodePools,
    network: { vpcCidr },
    // The team's own image-builder images (CAPA's public images exist only for a few version/region pairs), and an
    // API reachable from the office and management networks only: the fleet validates clean.
    image: { lookupOrg: FLEET_IMAGE_ORG },
    apiServer: { allowedCidrs: ["203.0.113.0/24"] },
  };
}

/** Writes capi-gitops.yaml and clusters/<name>/cluster.yaml for clusters first..first+n-1. */
export async function writeFleetSpecs(root: string, n: number, first = 0): Promise<string[]> {
  if (n + first > 16 * 96) throw new Error(`at most ${16 * 96} clusters (unique VPC CIDRs below 10.96.0.0/12)`);
  await mkdir(root, { recursive: true });
  await writeFile(path.join(root, "capi-gitops.yaml"), CONFIG_TEXT);
  const names: string[] = [];
  for (let i = first; i < first + n; i++) {
    const f = specFile(applyDefaults(specInput(i)));
    await mkdir(path.join(root, path.dirname(f.path)), { recursive: true });
    await writeFile(path.join(root, f.path), f.content);
    names.push(clusterName(i));
  }
  return names;
}
