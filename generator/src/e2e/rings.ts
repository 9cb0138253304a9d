/**
 * The rollout-ring part of `npm run e2e`, pure: a Flux repository of three rings (one small cluster each) and the
 * revisions the box's real kustomize-controller syncs from it (E2E_INPUT `rings`; e2e/rings_test.go `ringsInput` is
 * its other half, field for field). The change under test is the one the engine must hold back: a change of the
 * shared base released to every ring in one commit (what `npm run release` for each ring, merged together, or a
 * generator upgrade released everywhere at once, gives) — each later ring may take it only once every cluster of
 * the ring before it is Available at it.
 */
import { isSeq, parseDocument } from "yaml";
import { type BoxCluster } from "./box.js";
import type { NewClusterFlags } from "../cluster-spec/flags.js";
import { CAPI_GITOPS_API_VERSION } from "../core/vocabulary.js";
import { CLUSTERS_DIR, clusterDir, SYNC_DIR } from "../core/layout.js";
import { ENGINE_NAMESPACES } from "../cluster-spec/reserved.js";
import { toYaml } from "../core/yaml.js";
import { strAt, type K8sObject } from "../k8s/object.js";
import type { GoTestEvent } from "../tools/go.js";
import type { OutputFile } from "../plan/files.js";
import { planReleaseFiles, type RingRelease } from "../plan/release.js";

/** The rings, in rollout order. */
export const E2E_RINGS = ["canary", "early", "main"] as const;

/** The region of the ring clusters: the one with CAPA's public images (so `new-cluster` needs no image flag). */
const RING_REGION = "us-east-2";

/**
 * One cluster per ring, as small as a cluster gets (one control-plane machine, one zone, one fixed worker, no CNI
 * payload): the run is about the order the engine syncs them in, and every box cluster costs a workload API server.
 */
export const RING_FIXTURES: readonly NewClusterFlags[] = E2E_RINGS.map((ring) => ({
  name: `e2e-ring-${ring}`,
  region: RING_REGION,
  zones: `${RING_REGION}a`,
  cni: "none",
  ring,
  pool: ["name=default,instance-type=t3.large,autoscaling=false,replicas=1"],
}));

/** capi-gitops.yaml of the ring repository: Flux, the three rings. */
export const ringsConfig = (): string =>
  toYaml({
    apiVersion: CAPI_GITOPS_API_VERSION,
    kind: "RepositoryConfig",
    repoURL: "https://github.com/example-org/capi-gitops-rings.git",
    branch: "main",
    gitops: "flux",
    rollout: { rings: E2E_RINGS.map((name) => ({ name })) },
  });

/** The released file the change edits: the MachineDeployment pools' KubeadmConfigTemplate. */
export const CHANGED_FILE = "base/machinedeployment/templates/kubeadmconfigtemplate.yaml";

/**
 * The shared files with the change numbered `n`: one more command before kubeadm joins a worker. It changes the
 * template's content, so every cluster built from the release names a new KubeadmConfigTemplate and rolls its
 * MachineDeployment — a change the sync engine must not spread faster than the rings become Available again.
 */
export function changedFiles(files: Readonly<Record<string, string>>, n: number): Record<string, string> {
  const text = files[CHANGED_FILE];
  if (text === undefined) throw new Error(`the release holds no ${CHANGED_FILE}`);
  const doc = parseDocument(text);
  const path = ["spec", "template", "spec", "preKubeadmCommands"];
  const before = doc.getIn(path);
  const commands = isSeq(before) ? before.toJSON().map(String) : [];
  doc.setIn(path, [...commands, `echo capi-gitops e2e rings change ${n}`]);
  return { ...files, [CHANGED_FILE]: doc.toString() };
}

/** Every ring's releases/<ring>/ after the change numbered `n` was released to all of them in one commit. */
export function releasedEverywhere(releases: Readonly<Record<string, RingRelease>>, n: number): OutputFile[] {
  return E2E_RINGS.flatMap((ring) => {
    const r = releases[ring];
    if (!r) throw new Error(`ring ${ring} has no release`);
    return planReleaseFiles(ring, { number: r.number + 1, files: changedFiles(r.files, n) });
  });
}

/**
 * The management folders the box stands in for: the paths of the Flux Kustomizations that are neither a cluster's
 * nor the sync folder's (cert-manager, the cluster-api-operator, the providers, the identities). The box runs the
 * CAPI controllers itself and has no kubelet to run those charts' Deployments, so in the artifacts the box serves
 * each of these folders is an empty kustomization: its Kustomization — as generated — is Ready at each revision,
 * as it is on a management cluster where the providers run.
 */
export function standInLayers(sync: readonly K8sObject[]): string[] {
  return sync
    .filter((o) => o.kind === "Kustomization" && o.apiVersion.startsWith("kustomize.toolkit.fluxcd.io/"))
    .flatMap((o) => {
      const p = kustomizationPath(o);
      return p && !p.startsWith(`${CLUSTERS_DIR}/`) && p !== SYNC_DIR ? [p] : [];
    })
    .sort();
}

/** The repository folder a Flux Kustomization applies (its `spec.path` without the leading `./`). */
const kustomizationPath = (o: K8sObject): string | undefined => strAt(o, "spec.path")?.replace(/^\.\//, "");

/** The Flux source every Kustomization of the render reads (one GitRepository). */
export function fluxSource(sync: readonly K8sObject[]): { namespace: string; name: string } {
  const repos = sync.filter((o) => o.kind === "GitRepository");
  const [repo] = repos;
  if (repos.length !== 1 || !repo) throw new Error(`the sync render has ${repos.length} GitRepositories, not one`);
  return { namespace: repo.metadata.namespace ?? ENGINE_NAMESPACES.flux, name: repo.metadata.name };
}

/** The Flux Kustomization that syncs a cluster (the one whose path is the cluster's folder). */
export function clusterKustomization(sync: readonly K8sObject[], cluster: string): string {
  const k = sync.find((o) => o.kind === "Kustomization" && kustomizationPath(o) === clusterDir(cluster));
  if (!k) throw new Error(`the sync render has no Kustomization for ${clusterDir(cluster)}`);
  return k.metadata.name;
}

/** The name of the one KubeadmConfigTemplate of a cluster's render: what tells which revision it was built from. */
export function templateName(render: readonly K8sObject[]): string {
  const names = render.filter((o) => o.kind === "KubeadmConfigTemplate").map((o) => o.metadata.name);
  const [name] = names;
  if (names.length !== 1 || !name) throw new Error(`expected one KubeadmConfigTemplate, found ${names.length}`);
  return name;
}

export interface RingsRevision {
  name: string;
  /** As source-controller writes a GitRepository's artifact revision: `<branch>@sha1:<commit>`. */
  revision: string;
  /** The repository at that commit (with the stand-in management folders), which the box serves as a tarball. */
  dir: string;
  /** Per cluster, the KubeadmConfigTemplate its render at this revision names. */
  templates: Record<string, string>;
}

export interface RingsCluster {
  cluster: BoxCluster;
  /** Its Flux Kustomization (flux-system namespace). */
  kustomization: string;
}

export interface RingsInput {
  /** The kustomize-controller binary (built by `npm run e2e` from the pinned module). */
  controller: string;
  /** The GitRepository the Kustomizations read; the box writes its artifact as source-controller would. */
  source: { namespace: string; name: string };
  /** management/sync rendered at the first revision: the bootstrap (`kubectl apply -k management/sync`). */
  sync: K8sObject[];
  standIns: string[];
  rings: { name: string; clusters: RingsCluster[] }[];
  /** The first creates the clusters; each later one is the base change released to every ring in one commit. */
  revisions: RingsRevision[];
}

/** A line the rings run prints ("rings: …"), after the `t.Log` prefix when there is one. */
const RINGS_LINE = /^\s*(?:[\w.-]+\.go:\d+: )?(rings: .*)$/;

/** The rings run's part of the suite's events: whether TestRings ran (not skipped), its lines and its verdict. */
export function ringsOutcome(events: readonly GoTestEvent[]): { ran: boolean; passed: boolean; lines: string[] } {
  const lines: string[] = [];
  let result: string | undefined;
  for (const e of events) {
    if (e.Test !== "TestRings") continue;
    if (e.Action === "pass" || e.Action === "fail" || e.Action === "skip") result = e.Action;
    if (e.Action === "output" && e.Output)
      for (const l of e.Output.split("\n")) {
        const m = RINGS_LINE.exec(l)?.[1];
        if (m) lines.push(m);
      }
  }
  return { ran: result === "pass" || result === "fail", passed: result === "pass", lines };
}
