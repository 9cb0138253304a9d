/**
 * The benchmark's fleet, of the shape users have: N cluster specs written the way `new-cluster` writes them (every
 * default spelled out, via the project's own applyDefaults + specFile), then one `generate` and one commit.
 *
 * Shape, deterministic per cluster index i:
 * - four regions (us-east-2, eu-west-1, us-west-2, ap-southeast-2), cycling with i;
 * - two Kubernetes minors, each with a pinned cloud-controller-manager and cluster-autoscaler (versions.json) and an
 *   image CAPA publishes in us-east-2: there the machines use CAPA's public lookup; in the other regions (where
 *   CAPA publishes none) an image id of the team's own, stating its Kubernetes version, as `new-cluster --image-id`
 *   writes it;
 * - dev and prod (every third cluster prod: 3 control-plane replicas, every pool in every zone);
 * - MachinePool workers on two of every five dev clusters (prod refuses them: validate/drain-rules.ts), otherwise
 *   MachineDeployments — the first two clusters (the tests' small fleets) validate with no finding at all;
 * - two node pools per cluster, the first autoscaled on every second cluster, the rest fixed;
 * - its own namespace (the name) and VPC CIDR, an API reachable from one office network only.
 * So the fleet validates with no error (the dev MachinePools carry their workers-drain warning).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { specFile } from "../src/plan/cluster.js";
import { applyDefaults, type SpecInput } from "../src/cluster-spec/parse.js";
import { zonesOf } from "../src/cluster-spec/regions.js";
import { pinnedVersions } from "../src/pins/versions.js";
import { toYaml } from "../src/core/yaml.js";

const CONFIG_TEXT = `apiVersion: capi-gitops.io/v1alpha1
kind: RepositoryConfig
repoURL: https://github.com/example-org/fleet.git
branch: main
gitops: argocd
`;

const REGIONS: [string, ...string[]] = ["us-east-2", "eu-west-1", "us-west-2", "ap-southeast-2"];
/** The only region where CAPA publishes machine images (schemas/capa-images/inventory.json). */
const PUBLIC_IMAGE_REGION = "us-east-2";
/** Two minors, each a version CAPA publishes an image for in us-east-2. */
const VERSIONS: [string, ...string[]] = ["v1.34.8", "v1.33.4"];
const INSTANCE_TYPES: [string, ...string[]] = ["m6i.large", "m6i.xlarge", "c6i.2xlarge", "r6i.xlarge", "t3.large"];

/** The i-th element, cycling (the lists are constant and non-empty). */
const nth = <T>(xs: readonly [T, ...T[]], i: number): T => xs[i % xs.length] ?? xs[0];

export const clusterName = (i: number): string => `c${String(i).padStart(5, "0")}`;

/** The team's own image for a region and version: one AMI id per pair, as an image copied to each region is. */
const imageId = (region: string, version: string): string =>
  `ami-${createHash("sha256").update(`${region}/${version}`).digest("hex").slice(0, 17)}`;

/** Refuses a version list the pins cannot serve: the fleet would not validate clean, and the bench would lie. */
function checkPins(): void {
  const pins = pinnedVersions();
  for (const v of VERSIONS) {
    const minor = v.slice(1).split(".").slice(0, 2).join(".");
    if (!pins.addons.cloudControllerManager.byMinor[minor] || !pins.clusterAutoscaler.byMinor[minor])
      throw new Error(`bench fleet: Kubernetes ${minor} has no pinned CCM or cluster-autoscaler in versions.json`);
  }
}

/** The i-th cluster's spec input. */
function specInput(i: number): SpecInput {
  const region = nth(REGIONS, i);
  const zones = (zonesOf(region) ?? []).slice(0, 3);
  const version = nth(VERSIONS, Math.floor(i / REGIONS.length));
  const prod = i % 3 === 0;
  const workers = !prod && i % 5 >= 3 ? "MachinePool" : "MachineDeployment";
  const autoscaled = i % 2 === 0;
  // A prod pool keeps a node in every zone (validate's pool-zone-empty).
  const general = {
    name: "general",
    instanceType: nth(INSTANCE_TYPES, i),
    availabilityZones: zones,
    ...(autoscaled
      ? { autoscaling: true, minSize: prod ? 3 : 1, maxSize: prod ? 12 : 6 }
      : { autoscaling: false, minSize: 3, maxSize: 3 }),
  };
  const batch = {
    name: "batch",
    instanceType: nth(INSTANCE_TYPES, i + 2),
    availabilityZones: prod ? zones : zones.slice(0, 1),
    autoscaling: false,
    minSize: prod ? 3 : 1,
    maxSize: prod ? 3 : 1,
    labels: { workload: "batch", team: `t${i % 7}` },
  };
  // Unique VPC CIDR per cluster: 10.<i/16>.<(i%16)*16>.0/20 stays below the default service CIDR 10.96.0.0/12.
  const vpcCidr = `10.${Math.floor(i / 16)}.${(i % 16) * 16}.0/20`;
  return {
    apiVersion: "capi-gitops.io/v1alpha1",
    kind: "ClusterSpec",
    name: clusterName(i),
    region,
    availabilityZones: zones,
    kubernetesVersion: version,
    profile: prod ? "prod" : "dev",
    workers,
    controlPlane: { replicas: prod ? 3 : 1 },
    nodePools: [general, batch],
    network: { vpcCidr },
    ...(region === PUBLIC_IMAGE_REGION ? {} : { image: { id: imageId(region, version), kubernetesVersion: version } }),
    apiServer: { allowedCidrs: ["203.0.113.0/24"] },
  };
}

/** Writes capi-gitops.yaml and clusters/<name>/cluster.yaml for clusters first..first+n-1. */
export async function writeFleetSpecs(root: string, n: number, first = 0): Promise<string[]> {
  if (n + first > 16 * 96) throw new Error(`at most ${16 * 96} clusters (unique VPC CIDRs below 10.96.0.0/12)`);
  checkPins();
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

const git = (repo: string, ...args: string[]) => execFileSync("git", args, { cwd: repo, stdio: "pipe" });

/** The fleet at `repo` committed to a new repository: the base `--changed-since HEAD` compares against. */
export function commitFleet(repo: string): void {
  git(repo, "init", "-q", "-b", "main");
  git(repo, "add", ".");
  git(repo, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", "fleet");
}

/** The one-cluster change: the first cluster's own layer gets a patch (a label on its Cluster), uncommitted. */
export async function changeOneCluster(repo: string): Promise<void> {
  const k = {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: ["generated"],
    patches: [
      {
        target: { kind: "Cluster" },
        patch: toYaml([{ op: "add", path: "/metadata/labels/bench-change", value: "one" }]),
      },
    ],
  };
  await writeFile(path.join(repo, "clusters", clusterName(0), "kustomization.yaml"), toYaml(k));
}
