/**
 * Adding a cluster (`new-cluster`; `e2e` for its fixtures): flags → spec → checks → plan → staged write → kustomize
 * build and validation of the staged cluster → one rename into clusters/<name>. Bad input writes nothing.
 */
import { cp, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { versions } from "../pins/versions.js";
import { InvalidInputError } from "../core/errors.js";
import { type Finding, formatFinding, hasErrors } from "../core/findings.js";
import { pickVpcCidr } from "../cluster-spec/cidr.js";
import { DEFAULTS } from "../cluster-spec/types.js";
import { clusterDir } from "../core/layout.js";
import { mergePlans, type OutputFile } from "../plan/files.js";
import { CONFIG_FILE } from "../cluster-spec/config.js";
import { configFromOrigin } from "./init-config.js";
import { clusterBase, newClusterFiles, planNewCluster } from "../plan/repo.js";
import { exists, fleetFindings, loadRepo } from "../repo/load.js";
import { inside } from "../repo/write.js";
import { type CommitHook, noCommit, onBranch, preflight } from "./branch.js";
import { landCluster, type ValidateCluster } from "./land.js";
import { withRepoLock } from "../repo/lock.js";
import { parseSpecObject } from "../cluster-spec/parse.js";
import { flagFinding, flagFor, type NewClusterFlags, specInputFromFlags } from "../cluster-spec/flags.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import { checkedTool } from "../tools/resolve.js";

export interface AddClusterOptions {
  /** Create branch cluster/<name> from HEAD and commit exactly the new cluster there. */
  branch?: boolean;
  /** Push the branch to this remote (needs branch). */
  push?: string;
  cwd: string;
  flags: NewClusterFlags;
  dryRun?: boolean;
  /** --init: start a repository here; without a capi-gitops.yaml one is written (repoURL from git's remote origin). */
  init?: boolean;
  /** Build the staged cluster with kustomize and validate it with this before it lands (none: neither). */
  check?: ValidateCluster;
  log: (line: string) => void;
}

const bad = flagFinding;

/**
 * The VPC CIDR new-cluster chooses when --vpc-cidr is not given: cluster-spec/cidr.ts pickVpcCidr (a stable hash of
 * the name, probing over the ranges no cluster of the fleet uses and outside the cluster's own pod and service CIDRs).
 */
export function chooseVpcCidr(flags: NewClusterFlags, used: readonly string[]): string | undefined {
  return pickVpcCidr(flags.name ?? "", used, [
    flags.podCidr ?? DEFAULTS.podCidr,
    flags.serviceCidr ?? DEFAULTS.serviceCidr,
  ]);
}

/** No free range: refused after the spec's own checks (an invalid pod or service CIDR is the first thing to fix). */
const noFreeVpc = () =>
  new InvalidInputError(
    [
      bad(
        "--vpc-cidr",
        "no 10.N.0.0/16 is free of the fleet's VPC CIDRs and this cluster's pod and service CIDRs; give one",
      ),
    ],
    "nothing was written",
  );

/** Pure: the spec from flags, with findings that name the flag. */
export function resolveNewSpec(flags: NewClusterFlags): { spec?: ClusterSpec; findings: Finding[] } {
  const { input, findings } = specInputFromFlags(flags);
  if (input.name === undefined) findings.push(bad("--name", "is required (lowercase letters, digits and '-')"));
  if (input.region === undefined) findings.push(bad("--region", "is required, e.g. --region ap-northeast-2"));
  if (hasErrors(findings)) return { findings };
  const parsed = parseSpecObject(input);
  const named = parsed.findings.map((f) => {
    const flag = flagFor(f.path);
    return flag ? { ...f, path: f.path && flag !== `--${f.path}` ? `${flag} (${f.path})` : flag } : f;
  });
  return { spec: hasErrors(named) ? undefined : parsed.spec, findings: named };
}

export interface NewClusterResult {
  spec: ClusterSpec;
  files: OutputFile[];
  written: boolean;
}

/** Valid, but worth reading before the pull request (e.g. the API open to the world in prod). */
function logWarnings(warnings: readonly Finding[], log: (line: string) => void): void {
  if (!warnings.length) return;
  log("");
  log(`${warnings.length} warning(s) from validate:`);
  for (const f of warnings) log(`  ${formatFinding(f)}`);
}

/** What a copy of the repository holds for a dry run: everything but git, installed packages and tools. */
const SCRATCH_SKIP = new Set([".git", "node_modules", ".tools"]);

/**
 * `--dry-run`: lands the cluster in a scratch copy of the repository, builds and validates it exactly like the real
 * run (landCluster), and returns its warnings; its errors refuse the run as they would the real one (exit 1).
 */
async function dryRunFindings(
  cwd: string,
  spec: ClusterSpec,
  repo: Awaited<ReturnType<typeof loadRepo>>,
  check: ValidateCluster,
): Promise<Finding[]> {
  for (const tool of ["kustomize", "kubeconform", "kubectl-validate"]) await checkedTool(tool);
  const scratch = await mkdtemp(path.join(os.tmpdir(), "capi-gitops-dry-run-"));
  try {
    await cp(cwd, scratch, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => !SCRATCH_SKIP.has(path.relative(cwd, src).split(path.sep)[0] ?? ""),
    });
    return await landCluster(
      scratch,
      spec,
      planNewCluster(spec, { specs: repo.specs, config: repo.config, releases: repo.releases }, versions()),
      check,
      () => {},
      async () => {},
    );
  } catch (err) {
    if (err instanceof InvalidInputError)
      throw new InvalidInputError(err.findings, `the new cluster would not validate; nothing was written (dry run)`);
    throw err;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export async function addCluster(opts: AddClusterOptions): Promise<NewClusterResult> {
  let flags = opts.flags;
  const repo = await loadRepo(opts.cwd);
  // The repository config decides the sync manifests this run rewrites: it must be valid before anything is written.
  const configProblems = repo.findings.filter((f) => f.rule === "repo-config");
  if (configProblems.length)
    throw new InvalidInputError(configProblems, "fix capi-gitops.yaml first; nothing was written");
  // --init in a folder without capi-gitops.yaml: the run writes one, so that later writers accept the folder and the
  // sync manifests the "Next steps" promise are generated with the cluster.
  let config = repo.config;
  let configFile: OutputFile | undefined;
  if (opts.init && !(await exists(inside(opts.cwd, CONFIG_FILE)))) {
    // Its repoURL is the one Argo CD / Flux clone: the checkout's remote origin. Without one nothing can be said about
    // it; the cluster is still written, and the run says that nothing syncs it yet (below).
    const init = await configFromOrigin(opts.cwd);
    if (init) {
      config = init.config;
      configFile = init.file;
    }
  }
  // A VPC CIDR no other cluster of the fleet uses, so clusters can be peered later.
  const chooseVpc = flags.vpcCidr === undefined;
  const picked = chooseVpc
    ? chooseVpcCidr(
        flags,
        repo.specs.map((s) => s.network.vpcCidr),
      )
    : undefined;
  if (picked) flags = { ...flags, vpcCidr: picked };
  const resolved = resolveNewSpec(flags);
  if (!resolved.spec) throw new InvalidInputError(resolved.findings, "the new cluster is invalid; nothing was written");
  if (chooseVpc && !picked) throw noFreeVpc();
  let spec: ClusterSpec = resolved.spec;

  const dir = clusterDir(spec.name);
  const clash: Finding[] = [];
  if (await exists(inside(opts.cwd, dir)))
    clash.push(
      bad(
        "--name",
        `${dir} already exists; choose another name, or edit ${dir}/cluster.yaml and run \`npm run generate\``,
        "cluster-exists",
      ),
    );
  else
    clash.push(
      ...fleetFindings([...repo.specs, spec], repo.config)
        .filter((f) => f.cluster === spec.name)
        .map((f) => ({ ...f, path: flagFor(f.path) ?? "--name" })),
    );
  if (hasErrors(clash))
    throw new InvalidInputError(clash, "the new cluster clashes with the repository; nothing was written");

  let clusterFiles = newClusterFiles(spec, versions(), clusterBase(repo, spec));
  if (opts.dryRun) {
    for (const f of clusterFiles) opts.log(`# --- ${f.path}\n${f.content}`);
    // The same build and validation as the real run, in a scratch copy of the repository: the same findings.
    const warnings = opts.check ? await dryRunFindings(opts.cwd, spec, repo, opts.check) : [];
    logWarnings(warnings, opts.log);
    opts.log(`# dry run: nothing was written (${clusterFiles.length} files would be created under ${dir}/)`);
    return { spec, files: clusterFiles, written: false };
  }

  const branch = opts.branch ? { branch: `cluster/${spec.name}`, push: opts.push } : undefined;
  if (branch) await preflight(opts.cwd, branch);
  // The tools the new cluster is checked with must be there (and pinned) before anything is written.
  if (opts.check) for (const tool of ["kustomize", "kubeconform", "kubectl-validate"]) await checkedTool(tool);
  // One writer at a time: the checks are repeated under the lock, where no other run can change the answer.
  let warnings: Finding[] = [];
  const write = (commit: CommitHook) =>
    withRepoLock(
      opts.cwd,
      async () => {
        const now = await loadRepo(opts.cwd);
        // The free VPC CIDR is chosen again here: another run may have taken the one seen before the lock.
        if (chooseVpc) {
          const vpcCidr = chooseVpcCidr(
            flags,
            now.specs.map((s) => s.network.vpcCidr),
          );
          if (!vpcCidr) throw noFreeVpc();
          if (vpcCidr !== spec.network.vpcCidr) {
            const again = resolveNewSpec({ ...flags, vpcCidr });
            if (!again.spec)
              throw new InvalidInputError(again.findings, "the new cluster is invalid; nothing was written");
            spec = again.spec;
            clusterFiles = newClusterFiles(spec, versions(), clusterBase(now, spec));
            opts.log(`note: VPC CIDR ${vpcCidr} (the one seen before was taken meanwhile)`);
          }
        }
        const s = spec;
        const again: Finding[] = (await exists(inside(opts.cwd, dir)))
          ? [bad("--name", `${dir} was created by another run meanwhile; nothing was written`, "cluster-exists")]
          : fleetFindings([...now.specs, s], now.config)
              .filter((f) => f.cluster === s.name)
              .map((f) => ({ ...f, path: f.path === "namespace" ? "--namespace" : "--name" }));
        if (hasErrors(again))
          throw new InvalidInputError(again, "the new cluster clashes with the repository; nothing was written");
        const message = `Add cluster ${s.name} (${s.region}, ${s.workers}, profile ${s.profile})`;
        const plan = planNewCluster(
          s,
          { specs: now.specs, config: now.config ?? config, releases: now.releases },
          versions(),
        );
        warnings = await landCluster(
          opts.cwd,
          s,
          configFile && !now.config ? mergePlans([plan, { files: [configFile], roots: [] }]) : plan,
          opts.check,
          opts.log,
          (paths) => commit(paths, message),
        );
      },
      { log: opts.log },
    );
  if (branch) await onBranch(opts.cwd, branch, write, opts.log);
  else await write(noCommit);

  if (configFile)
    opts.log(
      `Started a capi-gitops repository: wrote ${CONFIG_FILE} (repoURL ${config?.repoURL} from git remote ` +
        `origin, branch ${config?.branch}, ${config?.gitops}); edit it for another branch or Flux, then run ` +
        `\`npm run generate\``,
    );
  opts.log(
    `Created cluster ${spec.name} (${spec.region}, ${spec.availabilityZones.join(", ")}; ` +
      `${spec.workers}; profile ${spec.profile}):`,
  );
  for (const f of clusterFiles) opts.log(`  ${f.path}`);
  logWarnings(warnings, opts.log);
  opts.log("");
  opts.log("Next steps:");
  if (!branch) {
    opts.log(
      `  git checkout -b cluster/${spec.name} && git add ${dir} ` +
        `management${configFile ? ` ${CONFIG_FILE}` : ""} && git commit -m "Add cluster ${spec.name}"`,
    );
    opts.log(`  git push -u origin cluster/${spec.name}   (or next time: npm run new-cluster -- … --branch --push)`);
  } else if (branch.push === undefined) opts.log(`  git push -u origin ${branch.branch}`);
  if (config)
    opts.log(
      `  open a pull request from cluster/${spec.name}; CI validates it, and Argo CD / Flux syncs it after the merge.`,
    );
  else
    opts.log(
      `  nothing syncs this repository yet: write ${CONFIG_FILE} (the URL Argo CD / Flux clone it from, ` +
        `README "GitOps sync"; \`new-cluster --init\` writes it from git remote origin), run \`npm run ` +
        `generate\` for the sync manifests, then open the pull request.`,
    );
  return { spec, files: clusterFiles, written: true };
}
