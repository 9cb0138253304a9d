/**
 * `npm run e2e`: applies the repository (every cluster and management/) and a set of fixture clusters to a real
 * kube-apiserver with the pinned CRDs and the upstream CAPI/CAPA webhooks (the Go suite in e2e/, controller-runtime
 * envtest), and checks that the server agrees with the tool.
 *
 * 1. Builds the pinned etcd, kube-apiserver and kustomize-controller into .tools/bin when they are not there yet
 *    (workflows/control-plane.ts; nothing when stamped).
 * 2. Renders, through the one render path of `validate` (render/render.ts, kustomize): the repository's clusters
 *    and management/ (providers, sync); fixtures made with `new-cluster` in a temporary repository (dev and prod,
 *    MachinePool and MachineDeployment workers, several pools, a custom namespace, the shape matrix of
 *    e2e/plan.ts shapeMatrix — workers × 1–3 zones × pool sizes —, the add-ons' ClusterResourceSets
 *    and ConfigMaps, management/sync for Argo CD and for Flux); for every cluster a second render after an accepted
 *    spec change (instance type, minor +1, a pool added, zones reordered); and, on the fixtures, three changes the
 *    tool flags (a region change, a two-minor jump, an AWSMachineTemplate edited in place).
 * 3. Asks the tool for its verdict on each update (`diff` flags and the upstream admission as UPDATE against the
 *    previous render) and hands every render to the Go suite as steps: creates must be accepted, read back intact
 *    and defaulted; each update object must be accepted or denied by the server exactly as the tool says.
 * 4. The box (E2E_INPUT `box`, e2e/box.ts): every repository cluster and every fixture of FIXTURES, each with its
 *    render, the add-on objects its ClusterResourceSets must apply, the accepted change's render and what it must
 *    roll, and the render with its last pool removed; the real CAPI controllers reconcile them in the suite. With
 *    `plant`, controller-level faults are planted in copies of box clusters and the run must fail naming them.
 * 5. The rings run (E2E_INPUT `rings`, e2e/rings.ts; full runs only): a Flux repository of three rollout rings made
 *    with the tool and committed — created, then a base change released to every ring in one commit, twice — which
 *    the real kustomize-controller (built by step 1) syncs into the box in e2e/rings_test.go.
 * 6. Reads the suite's `go test -json` events: one result per applied object, plus the suite's own checks
 *    (loopback only, teardown leaves no process or port), the box's per-cluster lines and results;
 *    "N passed, M failed". The health table the box writes must match README's (or, asked to, replaces it).
 *
 * It writes only inside its own temporary folder (copies of the repository, the fixtures, the suite's input).
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ToolUnavailableError, UsageError } from "../core/errors.js";
import type { Finding } from "../core/findings.js";
import type { RuleId } from "../core/rules.js";
import { clusterNames, exists, loadRepo, readConfig, readSpec } from "../repo/load.js";
import {
  ARGO_HEALTH_DIR,
  clusterKustomizationPath,
  clusterSpecPath,
  IDENTITIES_DIR,
  PROVIDERS_DIR,
  SYNC_DIR,
} from "../core/layout.js";
import { admit, admissionBinary, type AdmissionResult } from "../tools/admission.js";
import { goTestCompile, goTestJson } from "../tools/go.js";
import { commitPaths, initRepository } from "../tools/git.js";
import { kustomizeBuild } from "../tools/kustomize.js";
import { CRDS_DIR, TOOLS_BIN } from "../tools/resolve.js";
import { renderClusters, type RenderedCluster } from "../render/render.js";
import { TOOL_ROOT, versions } from "../pins/versions.js";
import { parseYamlStream, toYaml } from "../core/yaml.js";
import { hasK8sHeader, type K8sObject } from "../k8s/object.js";
import { inheritedEnv } from "../tools/run.js";
import { CAPI_GITOPS_API_VERSION } from "../core/vocabulary.js";
import { CONFIG_FILE } from "../cluster-spec/config.js";
import { idOf, keyOf } from "../diff/objects.js";
import { compareSides } from "../workflows/compare.js";
import { buildControlPlane } from "../workflows/control-plane.js";
import { withProgress } from "../workflows/progress.js";
import { generateTree } from "../workflows/generate.js";
import { addCluster } from "../workflows/new-cluster.js";
import { MANAGEMENT_LAYER_DIRS, managementLayerSteps } from "../e2e/management.js";
import {
  asStored,
  changeSpec,
  createStep,
  featureGates,
  shapeMatrix,
  summarize,
  templateEditInPlace,
  updateStep,
  type SpecChange,
  type Step,
  type SuiteInput,
  type SuiteSummary,
} from "../e2e/plan.js";
import type { NewClusterFlags } from "../cluster-spec/flags.js";
import {
  clusterKustomization,
  E2E_RINGS,
  fluxSource,
  releasedEverywhere,
  RING_FIXTURES,
  ringsConfig,
  standInLayers,
  templateName,
  ringsOutcome,
  type RingsInput,
  type RingsRevision,
} from "../e2e/rings.js";
import { ringReleases } from "../plan/release.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import {
  BOX_FAULTS,
  boxCluster,
  boxOutcome,
  healthChecksOf,
  plantFaults,
  readmeTable,
  fixtureTable,
  removeLastPool,
  tableMismatches,
  withReadmeTable,
  type BoxCluster,
  type BoxFaultKind,
  type BoxInput,
} from "../e2e/box.js";

/** The Go suite (its own module). */
export const E2E_DIR = path.join(TOOL_ROOT, "e2e");

/** The health binary (the health/ module, built by `npm run setup`) the box evaluates the health checks with. */
export const HEALTH_BINARY = path.join(TOOLS_BIN, "capi-gitops-health");

/** The README whose health table the box's run must reproduce. */
export const TOOL_README = path.join(TOOL_ROOT, "README.md");

/**
 * The fixture clusters (made with `new-cluster` in a temporary repository). Each flagged change is applied to one of
 * them, after the accepted change, in its own copy. They are also the fixtures of the box (the shape matrix is not:
 * its clusters differ only in how pools split over zones, which the webhooks' defaulting covers, and every box
 * cluster costs a workload kube-apiserver + etcd and a real reconciliation): between them dev and prod,
 * MachineDeployment and MachinePool workers, one to three pools, a custom namespace, and every CNI of
 * cluster-spec CNIS (cilium, calico, none).
 */
export const FIXTURES: readonly {
  flags: NewClusterFlags;
  flagged?: SpecChange | "template-edit-in-place";
  rule: RuleId;
}[] = [
  // dev, MachineDeployment workers (the default), cilium (the default), one autoscaled pool, the default namespace
  // … with CAPA's bastion and an internal API whose reachability from the management cluster is acknowledged
  {
    flags: {
      name: "e2e-dev",
      region: "us-east-1",
      access: "bastion",
      bastionAllowedCidrs: "203.0.113.0/24",
      sshKeyName: "e2e-ops",
      apiServerScheme: "internal",
      apiManagementReachAcknowledged: "true",
    },
    flagged: "region",
    rule: "awscluster-immutable",
  },
  // prod, MachineDeployment workers, calico, two pools (one autoscaled, one fixed), a custom namespace, an older
  // minor (the two-minor jump from the updated v1.34 must stay within the versions CAPI supports)
  {
    flags: {
      name: "e2e-prod",
      region: "eu-west-1",
      profile: "prod",
      workers: "MachineDeployment",
      cni: "calico",
      namespace: "e2e-team",
      kubernetesVersion: "v1.33.4",
      imageLookupOrg: "123456789012",
      // An account of its own (AWSClusterRoleIdentity in management/identities) and Session Manager access.
      identityRoleArn: "arn:aws:iam::111122223333:role/capa-e2e",
      access: "ssm",
      pool: [
        "name=general,instance-type=m5.large,min-size=3,max-size=6",
        "name=batch,instance-type=c5.xlarge,autoscaling=false,replicas=3",
      ],
    },
    flagged: "two-minor-jump",
    rule: "version-jump",
  },
  // dev, MachinePool workers (validate's workers-drain warning), no CNI from Git (bring your own), three pools: a
  // tainted spot pool of two instance types, a mixed GPU pool (its default taint, the NVIDIA device plugin add-on),
  // a fixed one. The stand-in launches the launch template's instance type whatever the market (it models no spot).
  {
    flags: {
      name: "e2e-pools",
      region: "ap-northeast-2",
      workers: "MachinePool",
      cni: "none",
      pool: [
        "name=small,instance-type=t3.medium,min-size=1,max-size=3,capacity-type=spot,instance-types=t3a.medium," +
          "taints=dedicated=small:NoSchedule,labels=tier:small",
        "name=large,instance-type=g5.xlarge,min-size=0,max-size=4,capacity-type=mixed,instance-types=g6.xlarge," +
          "on-demand-base=0,on-demand-percentage=50",
        "name=fixed,instance-type=t3.large,autoscaling=false,replicas=1",
      ],
    },
    flagged: "template-edit-in-place",
    rule: "template-changed-in-place",
  },
];

export interface E2eOptions {
  cwd: string;
  log: (line: string) => void;
  /** Also apply the fixture clusters and the flagged changes (default true; false: the repository only). */
  fixtures?: boolean;
  /**
   * Run the box (the real controllers on every box cluster; default true). Tests of the admission steps alone
   * (e2e-parity.test.ts: dozens of clusters each denied by a webhook) leave it out.
   */
  box?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Controller-level faults to plant, each in a copy of a box cluster (the run must then fail naming them). */
  plant?: readonly BoxFaultKind[];
  /** Write the suite's input (E2E_INPUT) to this file and stop before the Go suite. */
  inputOnly?: string;
  /** Write the health table of the run into README instead of comparing it. */
  writeHealthTable?: boolean;
}

export interface E2eResult extends SuiteSummary {
  /** Where the tool's own verdict did not flag a change it must flag (a defect of the tool, reported as a failure). */
  toolFindings: Finding[];
  /** The box's clusters that passed and failed (TestBox/<cluster>). */
  box: { passed: string[]; failed: string[] };
}

const WORKERS = 2;

async function copyRepo(from: string, to: string): Promise<void> {
  const skip = new Set([".git", "node_modules", ".tools", ".bench"]);
  await cp(from, to, { recursive: true, filter: (src) => path.dirname(src) !== from || !skip.has(path.basename(src)) });
}

async function render(root: string, names: readonly string[]): Promise<RenderedCluster[]> {
  const r = await renderClusters(
    root,
    names.map((name) => ({ name })),
    { workers: WORKERS, origins: true },
  );
  if (r.findings.length)
    throw new Error(`kustomize could not build ${r.findings.map((f) => `${f.cluster}: ${f.message}`).join("; ")}`);
  return r.rendered;
}

async function renderDir(root: string, dir: string): Promise<K8sObject[]> {
  return parseYamlStream(await kustomizeBuild(root, dir)).filter(hasK8sHeader);
}

/**
 * management/identities (the clusters' AWSClusterRoleIdentity / AWSClusterStaticIdentity, plan/identity.ts) as the
 * sync engine applies it, before the clusters naming them: through CAPA's identity webhooks. None without the folder.
 */
async function identitySteps(root: string, label: string): Promise<Step[]> {
  if (!(await exists(path.join(root, IDENTITIES_DIR, "kustomization.yaml")))) return [];
  const objects = await renderDir(root, IDENTITIES_DIR);
  return [
    createStep(
      `${label} ${IDENTITIES_DIR}`,
      "management",
      objects,
      objects.map(() => IDENTITIES_DIR),
    ),
  ];
}

/**
 * management/sync as the sync engine applies it: the folder itself and, where the repository has it (Argo CD), the
 * folder of the health checks' `argocd-cm` keys that its own Application syncs.
 */
async function renderSync(root: string): Promise<K8sObject[]> {
  const objs = await renderDir(root, SYNC_DIR);
  if (await exists(path.join(root, ARGO_HEALTH_DIR, "kustomization.yaml")))
    objs.push(...(await renderDir(root, ARGO_HEALTH_DIR)));
  return objs;
}

const jsonLines = (objs: readonly K8sObject[]) => `${objs.map((o) => JSON.stringify(o)).join("\n")}\n`;

/** The tool's upstream admission of `after` as UPDATE against `before` (one process), per object. */
async function verdicts(
  tmp: string,
  before: readonly K8sObject[],
  after: readonly K8sObject[],
): Promise<AdmissionResult[]> {
  const oldFile = path.join(tmp, `previous-${Math.random().toString(36).slice(2)}.jsonl`);
  await writeFile(oldFile, jsonLines(before));
  return admit(jsonLines(after), { cwd: tmp, oldFile });
}

/** The pinned CRDs must be in .tools/crds (`npm run setup`), as the stamp there says. */
async function crdDirs(): Promise<string[]> {
  const want = JSON.stringify(versions().crds);
  const have = await readFile(path.join(CRDS_DIR, ".version"), "utf8").catch(() => "");
  if (have !== want)
    throw new ToolUnavailableError(
      "the pinned CRDs are not in .tools/crds (or are of other versions) — run `npm run setup`",
    );
  return Object.keys(versions().crds).map((n) => path.join(CRDS_DIR, n));
}

/** Creates, then updates, every cluster of `root`; the update is the accepted spec change made in a copy. */
async function clusterSteps(
  root: string,
  label: string,
  tmp: string,
  log: (l: string) => void,
): Promise<{
  steps: Step[];
  updated: string;
  before: Map<string, RenderedCluster>;
  after: Map<string, RenderedCluster>;
  held: Map<string, K8sObject[]>;
}> {
  const names = await clusterNames(root);
  const updated = await mkdtemp(path.join(tmp, "updated-"));
  await copyRepo(root, updated);
  if (names.length === 0) return { steps: [], updated, before: new Map(), after: new Map(), held: new Map() };
  const before = await render(root, names);
  for (const n of names)
    await writeFile(
      path.join(updated, clusterSpecPath(n)),
      changeSpec(await readFile(path.join(updated, clusterSpecPath(n)), "utf8"), "accepted"),
    );
  await generateTree({ cwd: updated, log: () => {} });
  const after = await render(updated, names);
  const v = await verdicts(
    tmp,
    before.flatMap((r) => r.objects),
    after.flatMap((r) => r.objects),
  );
  log(`${label}: ${names.length} cluster(s) rendered twice (as they are, and after the accepted spec change)`);
  const steps: Step[] = before.map((r) =>
    createStep(`${label} ${r.cluster} create`, r.cluster, r.objects, r.origins, r.transformations),
  );
  // What the server holds after the update when it agrees with the tool: the new object where the update is allowed,
  // the previous one where it is denied — each with the replicas CAPI's webhooks default (asStored).
  const held = new Map<string, K8sObject[]>();
  let i = 0;
  for (const [j, r] of after.entries()) {
    const mine = v.slice(i, i + r.objects.length);
    i += r.objects.length;
    const stored = new Map((before[j]?.objects ?? []).map((o) => [keyOf(idOf(o)), asStored(o)]));
    const was = r.objects.map((o) => stored.get(keyOf(idOf(o))));
    steps.push(
      updateStep(
        `${label} ${r.cluster} update (instance type, minor +1, pool added, zones reordered)`,
        r.cluster,
        r.objects,
        r.origins,
        mine,
        r.transformations,
        was,
      ),
    );
    held.set(
      r.cluster,
      r.objects.flatMap((o, k) => {
        const prior = was[k];
        return mine[k]?.allowed ? [asStored(o, prior)] : prior ? [prior] : [];
      }),
    );
    for (const d of mine.filter((x) => !x.allowed))
      log(
        `${label}: ${r.cluster} update: the tool's upstream admission denies ${d.kind} ${d.name}: ` +
          `${d.messages[0]?.field ?? ""} ${d.messages[0]?.message.slice(0, 160) ?? ""}`,
      );
  }
  return {
    steps,
    updated,
    before: new Map(before.map((r) => [r.cluster, r])),
    after: new Map(after.map((r) => [r.cluster, r])),
    held,
  };
}

/** The fixtures' flagged changes: each in its own copy of the updated fixtures, with the tool's verdict. */
async function flaggedSteps(
  updated: string,
  after: Map<string, RenderedCluster>,
  held: Map<string, K8sObject[]>,
  tmp: string,
  log: (l: string) => void,
): Promise<{ steps: Step[]; findings: Finding[] }> {
  const steps: Step[] = [];
  const findings: Finding[] = [];
  for (const f of FIXTURES) {
    const { name } = f.flags;
    if (name === undefined || !f.flagged) continue;
    const copy = await mkdtemp(path.join(tmp, `flagged-${name}-`));
    await copyRepo(updated, copy);
    if (f.flagged === "template-edit-in-place") {
      const k = path.join(copy, clusterKustomizationPath(name));
      await writeFile(k, templateEditInPlace(await readFile(k, "utf8"), name));
    } else {
      const s = path.join(copy, clusterSpecPath(name));
      await writeFile(s, changeSpec(await readFile(s, "utf8"), f.flagged));
      await generateTree({ cwd: copy, log: () => {} });
    }
    const [changed] = await render(copy, [name]);
    const prev = after.get(name);
    if (!prev || !changed) throw new Error(`${name}: the fixture was not rendered`);
    // The tool's two verdicts: `diff` (its flags) and the upstream admission as UPDATE.
    const side = (r: RenderedCluster) => ({ names: [name], rendered: new Map([[name, r]]), findings: [] });
    const flags = compareSides("updated", [name], [], side(prev), side(changed)).findings.filter(
      (x) => x.severity === "error",
    );
    const v = await verdicts(tmp, held.get(name) ?? prev.objects, changed.objects);
    const denied = v.filter((r) => !r.allowed);
    if (!flags.some((x) => x.rule === f.rule) || denied.length === 0)
      findings.push({
        cluster: name,
        file: clusterSpecPath(name),
        rule: "e2e-tool-verdict",
        severity: "error",
        message:
          `the tool does not flag the ${f.flagged} change (diff rules: ` +
          `${flags.map((x) => x.rule).join(", ") || "none"}; upstream admission denies: ` +
          `${denied.map((r) => r.kind).join(", ") || "nothing"})`,
      });
    log(
      `fixtures: ${name} ${f.flagged}: the tool flags ` +
        `${flags.map((x) => x.rule).join(", ") || "nothing"}; its upstream admission denies ` +
        `${denied.map((r) => `${r.kind} ${r.name}`).join(", ") || "nothing"}`,
    );
    const stored = new Map((held.get(name) ?? prev.objects).map((o) => [keyOf(idOf(o)), o]));
    steps.push(
      updateStep(
        `fixtures ${name} ${f.flagged}`,
        name,
        changed.objects,
        changed.origins,
        v,
        changed.transformations,
        changed.objects.map((o) => stored.get(keyOf(idOf(o)))),
      ),
    );
  }
  return { steps, findings };
}

/**
 * The box's clusters of one repository: each named cluster's spec and renders (as it is, after the accepted change,
 * and — in a copy — with its last pool removed when it has two or more).
 */
async function boxClusters(
  root: string,
  origin: string,
  names: readonly string[],
  steps: { before: Map<string, RenderedCluster>; after: Map<string, RenderedCluster> },
  tmp: string,
): Promise<BoxCluster[]> {
  if (names.length === 0) return [];
  const specs = new Map<string, ClusterSpec>();
  for (const n of names) {
    const { spec, findings } = await readSpec(root, n);
    if (!spec) throw new Error(`${n}: the spec does not load: ${findings.map((f) => f.message).join("; ")}`);
    specs.set(n, spec);
  }
  const copy = await mkdtemp(path.join(tmp, "pool-removed-"));
  await copyRepo(root, copy);
  const shrunk: string[] = [];
  for (const n of names) {
    const file = path.join(copy, clusterSpecPath(n));
    const text = removeLastPool(await readFile(file, "utf8"));
    if (text === undefined) continue;
    await writeFile(file, text);
    shrunk.push(n);
  }
  const removed = new Map<string, RenderedCluster>();
  if (shrunk.length) {
    await generateTree({ cwd: copy, log: () => {} });
    for (const r of await render(copy, shrunk)) removed.set(r.cluster, r);
  }
  return names.flatMap((n) => {
    const spec = specs.get(n);
    const create = steps.before.get(n)?.objects;
    if (!spec || !create) return [];
    return [
      boxCluster({
        spec,
        origin,
        create,
        upgrade: steps.after.get(n)?.objects,
        poolRemoved: removed.get(n)?.objects,
      }),
    ];
  });
}

/** The fixture repository's config: Argo CD first; fluxCopy makes the Flux one. */
const fixtureConfig = (gitops: "argocd" | "flux") =>
  toYaml({
    apiVersion: CAPI_GITOPS_API_VERSION,
    kind: "RepositoryConfig",
    repoURL: "https://github.com/example-org/capi-gitops-e2e.git",
    branch: "main",
    gitops,
  });

async function fixtureRepo(tmp: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmp, "fixtures-"));
  await writeFile(path.join(dir, CONFIG_FILE), fixtureConfig("argocd"));
  for (const flags of [...FIXTURES.map((f) => f.flags), ...shapeMatrix()])
    await addCluster({ cwd: dir, log: () => {}, flags });
  return dir;
}

/** The same repository with the other sync engine (management/sync regenerated for Flux). */
async function fluxCopy(fixtures: string, tmp: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmp, "flux-"));
  await copyRepo(fixtures, dir);
  await writeFile(path.join(dir, CONFIG_FILE), fixtureConfig("flux"));
  await generateTree({ cwd: dir, log: () => {} });
  return dir;
}

/** The kustomize-controller `npm run e2e` builds (workflows/control-plane.ts) and the rings run syncs with. */
export const KUSTOMIZE_CONTROLLER_BINARY = path.join(TOOLS_BIN, "kustomize-controller");

/** The ring repository's commits: the branch the GitRepository follows, and who commits. */
const RINGS_BRANCH = "main";
const RINGS_AUTHOR = { name: "capi-gitops e2e", email: "e2e@capi-gitops.invalid" };

/**
 * One revision of the ring repository: committed, and copied out as the box serves it — with the management folders
 * the box stands in for emptied (e2e/rings.ts standInLayers).
 */
async function ringsRevision(
  dir: string,
  name: string,
  renders: readonly RenderedCluster[],
  standIns: readonly string[],
  tmp: string,
): Promise<RingsRevision> {
  const commit = await commitPaths(dir, ["."], `e2e rings: ${name}`);
  const out = await mkdtemp(path.join(tmp, "rings-revision-"));
  await copyRepo(dir, out);
  for (const p of standIns) {
    await rm(path.join(out, p), { recursive: true, force: true });
    await mkdir(path.join(out, p), { recursive: true });
    await writeFile(
      path.join(out, p, "kustomization.yaml"),
      toYaml({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: [] }),
    );
  }
  return {
    name,
    revision: `${RINGS_BRANCH}@sha1:${commit}`,
    dir: out,
    templates: Object.fromEntries(renders.map((r) => [r.cluster, templateName(r.objects)])),
  };
}

/**
 * The rings run's repository (e2e/rings.ts): Flux, one cluster per ring, committed; then twice the base change
 * released to every ring in one commit (the releases written as `npm run release` writes them, the clusters'
 * generated/ following with `generate`).
 */
async function ringsInput(tmp: string, log: (l: string) => void): Promise<RingsInput> {
  const dir = await mkdtemp(path.join(tmp, "rings-"));
  await initRepository(dir, RINGS_BRANCH, RINGS_AUTHOR);
  await writeFile(path.join(dir, CONFIG_FILE), ringsConfig());
  for (const flags of RING_FIXTURES) await addCluster({ cwd: dir, log: () => {}, flags });
  const names = RING_FIXTURES.flatMap((f) => (f.name === undefined ? [] : [f.name]));
  const sync = await renderDir(dir, SYNC_DIR);
  const standIns = standInLayers(sync);
  const created = await render(dir, names);
  const revisions = [await ringsRevision(dir, "clusters created", created, standIns, tmp)];
  for (const n of [1, 2]) {
    const repo = await loadRepo(dir);
    for (const f of releasedEverywhere(ringReleases(E2E_RINGS, repo.releases), n))
      await writeFile(path.join(dir, f.path), f.content);
    await generateTree({ cwd: dir, log: () => {} });
    revisions.push(
      await ringsRevision(dir, `base change ${n} released to every ring`, await render(dir, names), standIns, tmp),
    );
  }
  const clusters = await boxClusters(
    dir,
    "ring",
    names,
    { before: new Map(created.map((r) => [r.cluster, r])), after: new Map() },
    tmp,
  );
  const rings = E2E_RINGS.map((ring) => ({
    name: ring,
    clusters: clusters
      .filter((c) => RING_FIXTURES.some((f) => f.name === c.name && f.ring === ring))
      .map((cluster) => ({ cluster, kustomization: clusterKustomization(sync, cluster.name) })),
  }));
  log(
    `rings: ${names.length} clusters in ${E2E_RINGS.length} rings, ${revisions.length} revisions ` +
      `(the management folders ${standIns.join(", ")} stood in for)`,
  );
  return {
    controller: KUSTOMIZE_CONTROLLER_BINARY,
    source: fluxSource(sync),
    sync,
    standIns,
    rings,
    revisions,
  };
}

/** The health table the box wrote, against README's: the failures, or (asked to) README rewritten. */
async function healthTable(
  tablePath: string,
  fixtures: ReadonlySet<string>,
  write: boolean,
  log: (l: string) => void,
): Promise<{ test: string; output: string }[]> {
  const written = await readFile(tablePath, "utf8").catch(() => undefined);
  if (written === undefined)
    return [{ test: "box health table", output: `box: the suite wrote no health table (${tablePath})` }];
  const table = fixtureTable(written, fixtures);
  const readme = await readFile(TOOL_README, "utf8");
  const want = readmeTable(readme);
  const rewritten = withReadmeTable(readme, table);
  if (want === undefined || rewritten === undefined)
    return [
      {
        test: "box health table",
        output: `box: README.md has no block between <!-- health-table:begin --> and <!-- health-table:end -->`,
      },
    ];
  if (write) {
    if (rewritten !== readme) await writeFile(TOOL_README, rewritten);
    log(`box: the health table of this run is in README.md${rewritten === readme ? " (unchanged)" : ""}`);
    return [];
  }
  const diff = tableMismatches(want, table);
  if (diff.length === 0) return [];
  return [
    {
      test: "box health table",
      output:
        `box: the health table of this run differs from README.md's ` +
        `(- README, + this run):\n${(diff.length ? diff : ["(the same rows in another order)"]).join("\n")}\n` +
        "if the run is right, write it with `npm run e2e -- --write-health-table` and commit README.md",
    },
  ];
}

/** The name of the folder of the Go suite's temporary files starts with this (in the system's temporary folder). */
export const SUITE_TMP_PREFIX = "capi-gitops-e2e-suite-";

/**
 * `npm run e2e -- --build-only`: what a run builds before it applies anything — etcd, kube-apiserver and
 * kustomize-controller when not at their pins, and the Go suite compiled into Go's build cache (its binary is thrown
 * away; the run then links and starts it). Nothing is rendered or applied. CI builds first and only then starts
 * `npm test`, the run and the e2e test files side by side, so they share the cores with each other's waits, not with
 * these builds.
 */
export async function e2eBuild(opts: { log: (line: string) => void }): Promise<void> {
  await buildControlPlane({ log: opts.log });
  const tmp = await mkdtemp(path.join(os.tmpdir(), "capi-gitops-e2e-build-"));
  try {
    opts.log("e2e: compiling the Go suite (e2e/; cold, minutes on 2 cores) …");
    const seconds = await withProgress("e2e suite", opts.log, () => goTestCompile(E2E_DIR, path.join(tmp, "e2e.test")));
    opts.log(`e2e: the Go suite compiled in ${seconds} s; nothing was applied`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export async function e2eCommand(opts: E2eOptions): Promise<E2eResult> {
  const log = opts.log;
  const env = opts.env ?? inheritedEnv();
  const plant = opts.plant ?? [];
  if (opts.writeHealthTable && (plant.length || opts.fixtures === false))
    throw new UsageError(
      "--write-health-table needs the full run: the table comes from the fixtures, with no fault planted",
    );
  const { config, findings: configFindings } = await readConfig(opts.cwd);
  if (configFindings.length)
    throw new ToolUnavailableError(
      `${CONFIG_FILE} is invalid: ${configFindings.map((f) => f.message).join("; ")} — run \`npm run validate\``,
    );
  if (!opts.inputOnly) await buildControlPlane({ log });
  const crds = await crdDirs();
  admissionBinary(env); // the tool's verdicts need it: fail early, with its install hint

  const tmp = await mkdtemp(path.join(os.tmpdir(), "capi-gitops-e2e-"));
  try {
    const started = Date.now();
    // management/: the providers always (generate writes them), the sync manifests when capi-gitops.yaml asks for them.
    const providers = (await exists(path.join(opts.cwd, PROVIDERS_DIR)))
      ? await renderDir(opts.cwd, PROVIDERS_DIR)
      : [];
    const steps: Step[] = [
      createStep(
        `repository ${PROVIDERS_DIR}`,
        "management",
        providers,
        providers.map(() => PROVIDERS_DIR),
      ),
    ];
    // The renders of management/sync: the health checks the box evaluates are what they carry.
    const syncRenders: K8sObject[] = [];
    if (config) {
      const sync = await renderSync(opts.cwd);
      syncRenders.push(...sync);
      steps.push(
        createStep(
          `repository ${SYNC_DIR} (${config.gitops})`,
          "management",
          sync,
          sync.map(() => SYNC_DIR),
        ),
      );
    }
    steps.push(...(await identitySteps(opts.cwd, "repository")));
    const repo = await clusterSteps(opts.cwd, "repository", tmp, log);
    steps.push(...repo.steps);
    const box = await boxClusters(opts.cwd, "repository", await clusterNames(opts.cwd), repo, tmp);
    const toolFindings: Finding[] = [];
    if (opts.fixtures !== false) {
      const fixtures = await fixtureRepo(tmp);
      const flux = await fluxCopy(fixtures, tmp);
      for (const [engine, root] of [
        ["argocd", fixtures],
        ["flux", flux],
      ] as const) {
        const objs = await renderSync(root);
        syncRenders.push(...objs);
        steps.push(
          createStep(
            `fixtures ${SYNC_DIR} (${engine})`,
            "management",
            objs,
            objs.map(() => SYNC_DIR),
          ),
        );
      }
      steps.push(...(await identitySteps(fixtures, "fixtures")));
      const fx = await clusterSteps(fixtures, "fixtures", tmp, log);
      steps.push(...fx.steps);
      const flagged = await flaggedSteps(fx.updated, fx.after, fx.held, tmp, log);
      steps.push(...flagged.steps);
      toolFindings.push(...flagged.findings);
      const boxFixtures = FIXTURES.flatMap((f) => (f.flags.name === undefined ? [] : [f.flags.name]));
      // Fixtures first: a planted fault goes into a copy of a fixture when one can carry it.
      box.unshift(...(await boxClusters(fixtures, "fixture", boxFixtures, fx, tmp)));
    }
    const objects = steps.reduce((n, s) => n + s.objects.length, 0);
    log(
      `rendered ${steps.length} steps, ${objects} objects, ${box.length} box cluster(s) in ` +
        `${Math.round((Date.now() - started) / 1000)} s`,
    );
    const boxed = opts.box === false ? [] : plantFaults(box, plant);
    // The rings run (the real kustomize-controller) belongs to the full run: the box on, the fixtures, no fault.
    const rings =
      opts.box !== false && opts.fixtures !== false && !plant.length ? await ringsInput(tmp, log) : undefined;
    for (const c of boxed)
      for (const f of c.faults ?? []) log(`box: planted ${f.kind} in ${c.namespace}/${c.name}: ${f.object}`);

    // The management layer in the sync engines' order (e2e/management_test.go).
    const layerRenders = new Map<string, K8sObject[]>();
    for (const dir of MANAGEMENT_LAYER_DIRS)
      if (await exists(path.join(opts.cwd, dir, "kustomization.yaml")))
        layerRenders.set(dir, await renderDir(opts.cwd, dir));
    const managementLayer = managementLayerSteps(layerRenders);
    const tablePath = path.join(tmp, "health-table.md");
    const boxInput: BoxInput = {
      healthBinary: HEALTH_BINARY,
      checks: healthChecksOf(syncRenders),
      tablePath,
      clusters: boxed,
    };
    const input: SuiteInput = {
      assets: TOOLS_BIN,
      crdDirs: crds,
      featureGates: featureGates(providers),
      steps,
      managementLayer,
      box: boxInput,
      ...(rings ? { rings } : {}),
    };
    if (opts.inputOnly) {
      await writeFile(opts.inputOnly, JSON.stringify(input, null, 1));
      log(`e2e: the suite's input is in ${opts.inputOnly}; the Go suite did not run`);
      return { passed: 0, failed: 0, failures: [], log: [], toolFindings, box: { passed: [], failed: [] } };
    }
    log("starting the management cluster (kube-apiserver, etcd, upstream webhooks) …");
    const inputFile = path.join(tmp, "e2e-input.json");
    await writeFile(inputFile, JSON.stringify(input));
    const suiteEnv: NodeJS.ProcessEnv = Object.fromEntries(
      Object.entries(env).filter(
        ([k]) => k !== "KUBEBUILDER_ASSETS" && !k.startsWith("TEST_ASSET_") && k !== "KUBECONFIG",
      ),
    );
    // The suite's temporary files — the controllers' logs among them (e2e/box_test.go, rings_test.go) — in a folder
    // of their own: removed when the run passes, kept and named when it fails or cannot run.
    const suiteTmp = await mkdtemp(path.join(os.tmpdir(), SUITE_TMP_PREFIX));
    const suiteEnded = async (passed: boolean) => {
      if (passed) await rm(suiteTmp, { recursive: true, force: true });
      else log(`e2e: the suite's temporary files (the controllers' logs) are kept in ${suiteTmp}`);
    };
    const suiteStarted = Date.now();
    const tick = setInterval(
      () =>
        log(
          `e2e: the Go suite is still running (${Math.round((Date.now() - suiteStarted) / 1000)} s; a cold ` +
            `compile of e2e/ takes minutes, the box ≈ 1–2 min per cluster, the rings run ≈ 6 min) …`,
        ),
      30_000,
    );
    let run: Awaited<ReturnType<typeof goTestJson>>;
    try {
      run = await goTestJson(E2E_DIR, ["-timeout", "30m", "."], {
        env: { ...suiteEnv, E2E_INPUT: inputFile, TMPDIR: suiteTmp },
      });
    } catch (e) {
      await suiteEnded(false);
      throw e;
    } finally {
      clearInterval(tick);
    }
    const summary = summarize(run.events);
    for (const l of summary.log)
      if (l.startsWith("e2e:") || l.startsWith("starting") || l.startsWith("teardown")) log(l);
    const outcome = boxOutcome(run.events);
    for (const l of outcome.lines) log(l);
    for (const f of toolFindings)
      summary.failures.push({ test: `tool verdict ${f.cluster}`, output: `cluster ${f.cluster}: ${f.message}` });
    if (run.events.length === 0) summary.failures.push({ test: "go test", output: run.stderr.trim() });
    if (!outcome.ran && boxed.length)
      summary.failures.push({
        test: "box",
        output: `box: the Go suite ran no box (TestBox) for ${boxed.length} cluster(s)`,
      });
    else if (outcome.ran && !plant.length && opts.fixtures !== false)
      // A failed box's table is not the truth: compared (and shown), never written.
      summary.failures.push(
        ...(await healthTable(
          tablePath,
          new Set(boxed.filter((c) => c.fixture.startsWith("fixture")).map((c) => `${c.namespace}/${c.name}`)),
          opts.writeHealthTable === true && outcome.failed.length === 0,
          log,
        )),
      );
    else if (outcome.ran)
      log("box: the health table is compared with README's on the full run only (fixtures, no fault planted)");
    if (rings) {
      const r = ringsOutcome(run.events);
      for (const l of r.lines) log(l);
      if (!r.ran)
        summary.failures.push({
          test: "rings",
          output: "rings: the Go suite ran no rings run (TestRings) for the three-ring repository",
        });
    }
    log(
      `e2e: the Go suite ran in ${Math.round((Date.now() - suiteStarted) / 1000)} s; box: ` +
        `${outcome.passed.length} cluster(s) passed, ${outcome.failed.length} failed`,
    );
    await suiteEnded(summary.failures.length === 0);
    return {
      ...summary,
      failed: summary.failures.length,
      toolFindings,
      box: { passed: outcome.passed, failed: outcome.failed },
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The --plant values, checked against the faults the box knows. */
export function parsePlant(values: readonly string[]): BoxFaultKind[] {
  return values.map((v) => {
    const kind = BOX_FAULTS.find((k) => k === v);
    if (!kind) throw new UsageError(`--plant ${v}: not a fault the box plants (${BOX_FAULTS.join(", ")})`);
    return kind;
  });
}
