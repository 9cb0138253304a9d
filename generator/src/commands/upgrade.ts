/**
 * `npm run upgrade -- --name <cluster>|--all [--to <vX.Y.Z>]`: one step of a staged Kubernetes upgrade per run
 * (plan/upgrade.ts decides it): the control plane first, the pools in the next run. Read every spec → plan each
 * cluster's step (pure) → refuse, writing nothing, when any step is refused → write the edited cluster.yaml and the
 * cluster's regenerated generated/ in one transaction (repo/write.ts), optionally committed on a branch.
 */
import type { Context } from "../render/context.js";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { createTwoFilesPatch } from "diff";
import { InvalidInputError, UsageError } from "../core/errors.js";
import { type Finding, hasErrors } from "../core/findings.js";
import { parseSpecText } from "../cluster-spec/parse.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import { planSpecUpdates, ringNames } from "../plan/repo.js";
import { clusterRing } from "../cluster-spec/rollout.js";
import {
  applyUpgradeStep,
  planUpgradeStep,
  specVersions,
  upgradeRingSelection,
  type UpgradeStep,
} from "../plan/upgrade.js";
import { clusterDir, clusterSpecPath } from "../core/layout.js";
import { type LoadedRepo, loadRepo } from "../repo/load.js";
import { withRepoLock } from "../repo/lock.js";
import { inside, writeTree } from "../repo/write.js";
import { readImageInventory } from "../validate/images.js";
import { TOOL_ROOT, versions } from "../pins/versions.js";
import { type CommitHook, noCommit, onBranch, preflight } from "../workflows/branch.js";
import { kustomizeBuild } from "../tools/kustomize.js";
import { checkedTool } from "../tools/resolve.js";

export interface UpgradeOptions {
  cwd: string;
  /** The run's context (cli.ts); without one, validation uses this process's environment. */
  ctx?: Context;
  /** The cluster to upgrade (or `all`). */
  name?: string;
  all?: boolean;
  /** With `all`: the clusters of this rollout ring only. */
  ring?: string;
  /** The target version; default: the control plane's (the pools' step only). */
  to?: string;
  dryRun?: boolean;
  branch?: boolean;
  push?: string;
  /** `--image-id`: the new image of every machine that moves in this step (`image: {id, kubernetesVersion}`). */
  imageId?: string;
  /** `--pool-image-id <pool>=<ami-…>` (repeatable): one pool's new image in the pools' step. */
  poolImageIds?: readonly string[];
  /** Build and validate the upgraded clusters before the step lands (default true; like new-cluster). */
  render?: boolean;
  log: (line: string) => void;
}

const AMI = /^ami-[0-9a-f]{8,17}$/;

/** The image flags as the plan takes them, or the findings that refuse them (a malformed id, a pool named twice). */
function imageFlags(opts: UpgradeOptions): {
  imageId?: string;
  poolImageIds?: Record<string, string>;
  findings: Finding[];
} {
  const findings: Finding[] = [];
  const bad = (path: string, message: string) =>
    findings.push({ path, rule: "upgrade-image", severity: "error", message });
  if (opts.imageId !== undefined && !AMI.test(opts.imageId))
    bad("--image-id", `${JSON.stringify(opts.imageId)} is not an AMI id like ami-0123456789abcdef0`);
  let poolImageIds: Record<string, string> | undefined;
  for (const v of opts.poolImageIds ?? []) {
    const [pool, id] = [v.slice(0, v.indexOf("=")), v.slice(v.indexOf("=") + 1)];
    if (!v.includes("=") || !pool || !AMI.test(id))
      bad("--pool-image-id", `${JSON.stringify(v)} is not <pool>=<ami-…>`);
    else if (poolImageIds?.[pool] !== undefined) bad("--pool-image-id", `pool ${pool} is named twice`);
    else poolImageIds = { ...poolImageIds, [pool]: id };
  }
  if (opts.all && (opts.imageId !== undefined || poolImageIds))
    bad(
      "--image-id",
      "an AMI belongs to one region and one cluster's step: give --image-id / --pool-image-id with --name, not --all",
    );
  return { imageId: opts.imageId, poolImageIds, findings };
}

export interface UpgradeResult {
  steps: UpgradeStep[];
  written: boolean;
}

/** One cluster's planned step with the spec text before and after it. */
interface Planned {
  step: UpgradeStep;
  spec: ClusterSpec;
  before: string;
  after?: { text: string; spec: ClusterSpec };
}

/** A step that changes the spec. */
type Moving = Planned & { after: NonNullable<Planned["after"]> };
const isMoving = (p: Planned): p is Moving => p.after !== undefined;

/** Every selected cluster's step, or the findings that refuse the run. Reads the spec files; decides nothing else. */
async function planSteps(
  opts: UpgradeOptions,
): Promise<{ planned: Planned[]; findings: Finding[]; specs: ClusterSpec[]; repo: LoadedRepo }> {
  const repo = await loadRepo(opts.cwd);
  const ring = upgradeRingSelection(repo.specs, opts.ring, ringNames(repo.config), (s) => clusterRing(s, repo.config));
  if (hasErrors(ring.findings)) return { planned: [], findings: ring.findings, specs: [], repo };
  const selected = opts.all ? ring.specs : repo.specs.filter((s) => s.name === opts.name);
  const findings: Finding[] = [];
  if (!opts.all && selected.length === 0) {
    const broken = repo.findings.filter((f) => f.cluster === opts.name && f.severity === "error");
    if (broken.length) return { planned: [], findings: broken, specs: [], repo };
    return {
      planned: [],
      specs: [],
      repo,
      findings: [
        {
          path: "--name",
          rule: "cluster-exists",
          severity: "error",
          message: `no cluster named "${opts.name}" (expected ${clusterSpecPath(opts.name ?? "")})`,
        },
      ],
    };
  }
  // A spec that does not load cannot be upgraded, and --all must not skip one silently: it refuses the run, but the
  // other clusters are still planned so that --all's table lists every cluster, not only the broken one.
  const names = new Set(selected.map((s) => s.name));
  findings.push(
    ...repo.findings.filter(
      (f) => f.severity === "error" && (opts.all || (f.cluster !== undefined && names.has(f.cluster))),
    ),
  );
  if (hasErrors(findings) && !opts.all) return { planned: [], findings, specs: selected, repo };

  const images = imageFlags(opts);
  if (hasErrors(images.findings)) return { planned: [], findings: images.findings, specs: selected, repo };
  const ctx = {
    pins: versions(),
    inventory: readImageInventory(TOOL_ROOT),
    skipNewer: opts.all,
    imageId: images.imageId,
    poolImageIds: images.poolImageIds,
  };
  const planned: Planned[] = [];
  for (const spec of selected) {
    const r = planUpgradeStep(spec, opts.to, ctx);
    findings.push(...r.findings);
    if (!r.step) continue;
    const before = await readFile(inside(opts.cwd, clusterSpecPath(spec.name)), "utf8");
    const p: Planned = { step: r.step, spec, before };
    if (r.step.kind !== "none") {
      // The file keeps its line ends: a CRLF spec stays CRLF (the YAML library writes LF).
      const edited = applyUpgradeStep(before, spec, r.step);
      const text = before.includes("\r\n") ? edited.replace(/\r?\n/g, "\r\n") : edited;
      const reparsed = parseSpecText(text, clusterSpecPath(spec.name));
      // The edited spec must load and carry exactly the step's versions; anything else is our bug, not the user's.
      if (!reparsed.spec || hasErrors(reparsed.findings))
        throw new InvalidInputError(
          reparsed.findings,
          `the upgraded ${clusterSpecPath(spec.name)} would not be valid; nothing was written`,
        );
      if (
        JSON.stringify(specVersions(reparsed.spec).pools.map((x) => x.version)) !==
          JSON.stringify(r.step.after.pools.map((x) => x.version)) ||
        reparsed.spec.kubernetesVersion !== r.step.after.controlPlane
      )
        throw new Error(`internal error: the edited ${clusterSpecPath(spec.name)} does not hold the planned versions`);
      p.after = { text, spec: reparsed.spec };
    }
    planned.push(p);
  }
  return { planned, findings, specs: selected, repo };
}

const versionsLine = (v: UpgradeStep["before"]): string => {
  const pools = [...new Set(v.pools.map((p) => p.version))];
  return `control plane ${v.controlPlane}, pools ${pools.join("/")}`;
};

/** The table `--all` prints: one row per cluster. */
function table(specs: readonly ClusterSpec[], planned: readonly Planned[], refused: readonly Finding[]): string[] {
  const now = (cluster: string) => {
    const spec = specs.find((s) => s.name === cluster);
    return spec ? versionsLine(specVersions(spec)) : "";
  };
  const rows = [
    ["cluster", "now", "step", "what it does"],
    ...planned.map((p) => [p.step.cluster, versionsLine(p.step.before), p.step.kind, p.step.summary]),
    ...refused.flatMap(({ cluster, rule, message }) =>
      cluster === undefined ? [] : [[cluster, now(cluster), "refused", `${rule}: ${message}`]],
    ),
  ];
  const [head = [], ...body] = rows;
  body.sort(([a = ""], [b = ""]) => (a < b ? -1 : a > b ? 1 : 0));
  const widths = [0, 1, 2].map((i) => Math.max(...[head, ...body].map((r) => r[i]?.length ?? 0)));
  return [head, ...body].map((r) =>
    r
      .map((c, i) => (i < 3 ? c.padEnd(widths[i] ?? 0) : c))
      .join("  ")
      .trimEnd(),
  );
}

/** What `--dry-run` prints: a unified diff of every file the run would change (the spec and the generated files). */
async function dryRunDiff(cwd: string, planned: readonly Moving[], repo: LoadedRepo): Promise<string[]> {
  const out: string[] = [];
  const plan = planSpecUpdates(
    planned.map((p) => p.after),
    repo,
    versions(),
  );
  const read = (rel: string) => readFile(inside(cwd, rel), "utf8").catch(() => "");
  for (const f of plan.files) {
    const now = await read(f.path);
    if (now !== f.content)
      out.push(
        createTwoFilesPatch(`a/${f.path}`, `b/${f.path}`, now, f.content, undefined, undefined, { context: 3 })
          .replace(/^=+\n/, "")
          .trimEnd(),
      );
  }
  // Files of a regenerated folder that the new plan no longer has (e.g. the previous CCM's ConfigMap) go.
  const plannedPaths = new Set(plan.files.map((f) => f.path));
  for (const root of plan.roots) {
    const have = await readdir(inside(cwd, root), { recursive: true, withFileTypes: true }).catch(() => []);
    for (const e of have) {
      if (e.isDirectory()) continue;
      const rel = path.relative(cwd, path.join(e.parentPath, e.name)).split(path.sep).join("/");
      if (!plannedPaths.has(rel))
        out.push(
          createTwoFilesPatch(`a/${rel}`, "/dev/null", await read(rel), "", undefined, undefined, { context: 3 })
            .replace(/^=+\n/, "")
            .trimEnd(),
        );
    }
  }
  return out;
}

/** Builds and validates the upgraded clusters as they landed; their errors refuse the step (the caller rolls back). */
async function validateLanded(cwd: string, clusters: readonly string[], ctx: Context | undefined): Promise<void> {
  for (const c of clusters) await kustomizeBuild(cwd, clusterDir(c));
  const { validateClusters } = await import("../workflows/validate.js");
  const validated = await validateClusters({ cwd, clusters: [...clusters] }, ctx);
  const errors = validated.findings.filter(
    (f) => f.severity === "error" && f.cluster !== undefined && clusters.includes(f.cluster),
  );
  if (errors.length)
    throw new InvalidInputError(
      errors,
      "the upgraded cluster(s) would not validate; nothing was written (the step was rolled back)",
    );
}

export async function upgradeCommand(opts: UpgradeOptions): Promise<UpgradeResult> {
  if (Boolean(opts.all) === (opts.name !== undefined))
    throw new UsageError("give --name <cluster> or --all (exactly one)\n\nSee: npm run upgrade -- --help");
  if (opts.ring !== undefined && !opts.all)
    throw new UsageError("--ring selects the clusters of --all: give --all --ring <ring>, or --name <cluster> alone");
  const first = await planSteps(opts);
  const refused = first.findings.filter((f) => f.severity === "error");
  if (opts.all) for (const line of table(first.specs, first.planned, refused)) opts.log(line);
  if (refused.length)
    throw new InvalidInputError(refused, `${opts.all ? "the fleet's" : "the"} upgrade is refused; nothing was written`);
  const steps = first.planned.map((p) => p.step);
  const moving = first.planned.filter(isMoving);
  if (!opts.all) for (const p of first.planned) opts.log(`${p.step.cluster}: ${p.step.summary}`);
  const [lead] = moving;
  if (lead === undefined) {
    opts.log("nothing to do; nothing was written");
    return { steps, written: false };
  }
  if (opts.dryRun) {
    for (const d of await dryRunDiff(opts.cwd, moving, first.repo)) opts.log(d);
    opts.log(`# dry run: nothing was written (${moving.length} cluster(s) would change)`);
    return { steps, written: false };
  }

  const kinds = [...new Set(moving.map((p) => p.step.kind))];
  const kindWord = kinds.length === 1 ? lead.step.kind : "mixed";
  const target = lead.step.target;
  // Without --to only the pools' step exists.
  const all = opts.ring === undefined ? "all" : `ring-${opts.ring}`;
  const branchName = opts.all
    ? opts.to
      ? `upgrade/${all}-${opts.to}-${kindWord}`
      : `upgrade/${all}-pools`
    : `upgrade/${opts.name}-${target}-${kindWord}`;
  const branch = opts.branch ? { branch: branchName, push: opts.push } : undefined;
  if (branch) await preflight(opts.cwd, branch);
  if (opts.render !== false)
    for (const tool of ["kustomize", "kubeconform", "kubectl-validate"]) await checkedTool(tool);
  const message = opts.all
    ? `Upgrade ${moving.length} cluster(s)${opts.ring === undefined ? "" : ` of ring ${opts.ring}`}: ` +
      moving.map((p) => `${p.step.cluster} ${p.step.kind}`).join(", ")
    : `Upgrade ${opts.name}: ${lead.step.summary}`;

  const write = (commit: CommitHook) =>
    withRepoLock(
      opts.cwd,
      async () => {
        // Planned again under the lock: another run may have changed a spec meanwhile.
        const now = await planSteps(opts);
        const same =
          now.findings.every((f) => f.severity !== "error") &&
          JSON.stringify(now.planned.map((p) => p.after?.text)) ===
            JSON.stringify(first.planned.map((p) => p.after?.text));
        if (!same)
          throw new InvalidInputError(
            [
              {
                rule: "upgrade-changed",
                severity: "error",
                message: "a cluster spec changed while this run waited for the lock; run the command again",
              },
            ],
            "nothing was written",
          );
        const plan = planSpecUpdates(
          moving.map((p) => p.after),
          now.repo,
          versions(),
        );
        // Exactly the files written and deleted (the swapped folder's old copy sits inside clusters/<name>/ until the
        // transaction finishes, so the cluster folder as a whole is not a path to commit).
        await writeTree(opts.cwd, plan, {
          landed: async (result) => {
            // Like new-cluster: the result is built and validated before it is final (a patch of the cluster's own
            // kustomization.yaml may hold a version or image the step does not move); errors roll everything back.
            if (opts.render !== false)
              await validateLanded(
                opts.cwd,
                moving.map((p) => p.step.cluster),
                opts.ctx,
              );
            await commit([...result.written, ...result.deleted], message);
          },
        });
      },
      { log: opts.log },
    );
  if (branch) await onBranch(opts.cwd, branch, write, opts.log);
  else await write(noCommit);

  opts.log("");
  opts.log("Next steps:");
  if (!branch)
    opts.log(
      `  commit ${moving.map((p) => clusterDir(p.step.cluster)).join(" ")} on a branch and open a pull ` +
        `request (or next time: --branch --push)`,
    );
  else if (branch.push === undefined) opts.log(`  git push -u origin ${branch.branch}, then open a pull request`);
  else opts.log(`  open a pull request from ${branch.branch}`);
  for (const p of moving) opts.log(`  ${p.step.cluster}: ${p.step.next}`);
  return { steps, written: true };
}
