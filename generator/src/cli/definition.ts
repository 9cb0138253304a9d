/**
 * The CLI, declared once: every command with its summary, usage, description, one table of flags (flag, value, help
 * text) and `run`, which receives the options typed from that table (cli/command.ts) and calls the command module,
 * loaded only when it runs. The parser options and every help text are derived from it; the spec flags of
 * `new-cluster` come from cluster-spec/flags.ts, which also maps them onto the spec.
 */
import { SPEC_SCHEMA_PATH } from "../plan/cluster.js";
import { CONFIG_SCHEMA_PATH } from "../plan/repo.js";
import { PROVIDERS_DIR, SYNC_DIR } from "../core/layout.js";
import { UsageError } from "../core/errors.js";
import { versions, type Versions } from "../pins/versions.js";
import { type NewClusterFlags, POOL_SYNTAX, SPEC_FLAGS } from "../cluster-spec/flags.js";
import { SUPPORTED_MINORS } from "../cluster-spec/parse.js";
import { FORMATS } from "../validate/format.js";
import { INVENTORY_FORMATS } from "../fleet/inventory.js";
import { LEFTOVER_FORMATS } from "../fleet/leftovers.js";
import {
  branchFlags,
  branchOf,
  camel,
  type Command,
  defineCommand,
  type FlagDef,
  formatFlag,
  INIT_FLAG,
  REPO_FLAG,
  type Text,
} from "./command.js";

/** The Kubernetes versions the spec accepts (import refuses others without --kubernetes-version). */
const SUPPORTED = `v1.${SUPPORTED_MINORS.min}–v1.${SUPPORTED_MINORS.max}`;

/** Lines of a help text. */
const lines = (...text: string[]) => text.join("\n");

/** The Go tools `setup` builds, as versions.json pins them (the help texts list them from there). */
const toolsOf = (pins: () => Versions) => Object.entries(pins().tools).sort(([a], [b]) => (a < b ? -1 : 1));
const sayList = (xs: string[]) => (xs.length > 1 ? `${xs.slice(0, -1).join(", ")} and ${xs.at(-1)}` : (xs[0] ?? ""));

/** Writers refuse a folder that is not a capi-gitops repository unless told to start one (--init). */
const requireRepository = async (repo: string, init: boolean) =>
  (await import("../repo/load.js")).requireRepository(repo, init);

/**
 * Readers refuse a folder that is visibly not the repository (a subfolder of one, or no clusters/ at all); so do the
 * commands that act on existing clusters when they write nothing yet (upgrade --dry-run) or only remove
 * (remove-cluster) — from a subfolder they would report "no cluster named …" or "nothing to do" instead.
 */
const requireReadable = async (repo: string) => (await import("../repo/load.js")).requireReadableRepository(repo);

const setup = defineCommand({
  name: "setup",
  summary: (pins) =>
    `build the pinned ${sayList(toolsOf(pins).map(([n]) => n))} into .tools/bin ` +
    "(run by `npm run setup` after npm ci)",
  usage: "npm run setup",
  description: (pins) =>
    lines(
      "Runs npm ci, then builds the Go tools pinned in versions.json with `go install` into .tools/bin:",
      ...toolsOf(pins).map(([n, t]) => `  ${n.padEnd(18)}${t.module}@${t.version}`),
      "and lays the pinned CRDs into .tools/crds (for the CEL layer of validate).",
      "Tools already at their pinned version are skipped (--force rebuilds).",
    ),
  flags: [{ flag: "force", type: "boolean", help: "rebuild every tool, even one at its pinned version" }, REPO_FLAG],
  run: async (opts, _ctx, io) => {
    await (await import("../commands/setup.js")).setupCommand({ log: io.out, force: opts.force });
    return 0;
  },
});

/** new-cluster's spec flags, as the command line gives them. */
const SPEC_FLAG_DEFS = SPEC_FLAGS.map((f): FlagDef =>
  f.kind === "pools"
    ? { flag: f.flag, type: "strings", value: f.value, help: `${f.help}\n${POOL_SYNTAX}` }
    : { flag: f.flag, type: "string", value: f.value, help: f.help },
);

const newCluster = defineCommand({
  name: "new-cluster",
  summary: "add clusters/<name>/ from flags, or prompts on a terminal",
  usage: "npm run new-cluster -- --name <name> --region <region> [flags]",
  description: lines(
    "Creates clusters/<name>/cluster.yaml (the spec, every default written out), clusters/<name>/kustomization.yaml",
    "(yours to edit) and clusters/<name>/generated/ (the generated overlay). Nothing is written when any input is",
    "invalid or the cluster exists. On a terminal it asks for what is missing, unless --yes.",
  ),
  flags: [
    ...SPEC_FLAG_DEFS,
    { flag: "dry-run", type: "boolean", help: "print the files instead of writing them" },
    { flag: "yes", short: "y", type: "boolean", help: "never prompt" },
    {
      flag: "no-render",
      type: "boolean",
      help: "skip the kustomize build and validation of the new cluster (not recommended)",
    },
    ...branchFlags(
      lines(
        "create branch cluster/<name> from HEAD and commit exactly the new cluster there",
        "(refuses, writing nothing, with unrelated staged changes or an existing branch)",
      ),
    ),
    INIT_FLAG,
    REPO_FLAG,
  ],
  run: async (opts, ctx, io) => {
    if (!opts.dryRun) await requireRepository(io.repo, opts.init);
    const flags: NewClusterFlags = {};
    for (const f of SPEC_FLAGS) {
      const value = opts[camel(f.flag)];
      if (f.kind === "pools") {
        if (Array.isArray(value)) flags[f.key] = value;
      } else if (typeof value === "string") flags[f.key] = value;
    }
    await (
      await import("../commands/new-cluster.js")
    ).newClusterCommand({
      ctx,
      cwd: io.repo,
      log: io.out,
      dryRun: opts.dryRun,
      render: !opts.noRender,
      ...branchOf(opts),
      init: opts.init,
      interactive: !opts.yes && io.interactive,
      flags,
    });
    return 0;
  },
});

const removeCluster = defineCommand({
  name: "remove-cluster",
  summary: "remove clusters/<name>/ from Git and print how to delete the cluster the supported way",
  usage: "npm run remove-cluster -- --name <name> [--branch] [--push [remote]]",
  description: lines(
    "Removes clusters/<name>/ (and its entries in management/sync/) and prints the supported way to delete the",
    "cluster: delete only the Cluster object; CAPI tears the rest down in order. Argo CD and Flux never delete the",
    "cluster's objects because a directory went away (preserveResourcesOnDeletion / deletionPolicy Orphan, and every",
    "object is annotated Prune=false,Delete=false / prune: disabled).",
    "",
    "Refuses (exit 1, nothing changed) when clusters/<name>/ holds uncommitted changes or untracked files, or the",
    "repository is not a git repository, unless --force.",
  ),
  flags: [
    { flag: "name", type: "string", value: "<name>", help: "the cluster to remove (required)" },
    { flag: "force", type: "boolean", help: "remove it even so (what Git does not hold is lost)" },
    ...branchFlags(
      "commit the removal on branch remove-cluster/<name> (refuses with staged changes or an existing branch)",
    ),
    REPO_FLAG,
  ],
  run: async (opts, _ctx, io) => {
    await requireReadable(io.repo);
    await (
      await import("../commands/remove-cluster.js")
    ).removeClusterCommand({ cwd: io.repo, log: io.out, name: opts.name, force: opts.force, ...branchOf(opts) });
    return 0;
  },
});

const generate = defineCommand({
  name: "generate",
  summary:
    "regenerate base/, overlays/, management/, schemas/*.schema.json and every cluster's generated/ overlay " +
    "from the specs",
  usage: "npm run generate [-- --repo <dir>]",
  description: lines(
    `Regenerates base/, overlays/ (profiles and components), ${SYNC_DIR}/, ${PROVIDERS_DIR}/, ${SPEC_SCHEMA_PATH},`,
    `${CONFIG_SCHEMA_PATH} and every clusters/<name>/generated/ from clusters/*/cluster.yaml. ` +
      "Deterministic: a second run changes nothing. Never touches clusters/<name>/cluster.yaml",
    "or clusters/<name>/kustomization.yaml.",
  ),
  flags: [INIT_FLAG, REPO_FLAG],
  run: async (opts, _ctx, io) => {
    await requireRepository(io.repo, opts.init);
    await (await import("../commands/generate.js")).generateCommand({ cwd: io.repo, log: io.out, init: opts.init });
    return 0;
  },
});

const diff = defineCommand({
  name: "diff",
  summary: "per-cluster, per-object diff of the rendered resources against a git ref, with risky changes flagged",
  usage: "npm run diff -- --base <ref> [--format text|markdown]",
  description: lines(
    "Finds the clusters affected between <ref> and the working tree, renders both sides with kustomize, and prints a",
    "per-cluster, per-object diff. Flags what the management cluster would reject or what would not roll out: a",
    "template's spec changed under the same name, AWSCluster region or load-balancer scheme changed, a Kubernetes",
    "version jump of more than one minor (or down), a Cluster renamed or moved to another namespace.",
    'For a pull request use the merge base: --base "$(git merge-base origin/main HEAD)".',
  ),
  flags: [
    { flag: "base", type: "string", value: "<ref>", help: "the git ref to compare with (required)" },
    formatFlag(["text", "markdown"], "output; default text", "--format must be text or markdown"),
    REPO_FLAG,
  ],
  footer: "Exit codes: 0 (flags are findings too: 1 when any is an error), 2 tool error.",
  run: async (opts, _ctx, io) => {
    await requireReadable(io.repo);
    if (!opts.base) throw new UsageError("--base <ref> is required, e.g. --base origin/main");
    const { diffCommand } = await import("../commands/diff.js");
    const result = await diffCommand({ cwd: io.repo, base: opts.base, format: opts.format });
    io.out(result.output);
    return result.findings.some((f) => f.severity === "error") ? 1 : 0;
  },
});

const validate = defineCommand({
  name: "validate",
  summary:
    "render every cluster (or the named ones) and check it: spec, drift, kubeconform, upstream admission, CEL, " +
    "our rules",
  usage: "npm run validate [-- [cluster...] [--format text|json|github]]",
  positionals: "cluster",
  description: lines(
    "For each cluster (all by default): the spec against its JSON Schema and checks; the generated files against what",
    "the spec generates (drift); one batched `kustomize build`; kubeconform -strict against schemas/kubeconform (no",
    "network, no missing schemas allowed); the real upstream CAPI/CAPA admission (capi-gitops-admission: strict",
    "decoding, CRD schema and CEL, conversion, the upstream webhooks; UPDATE against the previous render with",
    "--changed-since); kubectl-validate for the CEL rules of the management CRDs (Argo CD, Flux, operator); " +
      "what Argo CD /",
    "Flux would do with the sync manifests; and our rules for what no webhook checks (references, CIDR " +
      "overlaps, zones,",
    "version skew, secrets, sync safety, add-ons). Findings are grouped by cluster with file and field.",
    "CAPI_GITOPS_ADMISSION=off switches the admission layer off — a debugging switch: the webhook checks it replaced",
    "(validate/upstream-replaced.ts) are then not made at all, and the clusters' CRD CEL rules go to kubectl-validate.",
  ),
  flags: [
    formatFlag(FORMATS, "output (github: workflow annotations); default text"),
    {
      flag: "skip-cel",
      type: "boolean",
      help: "skip the kubectl-validate layer (management CRDs' CEL rules; CI never does)",
    },
    {
      flag: "changed-since",
      type: "string",
      value: "<ref>",
      help: lines(
        "only the clusters affected by changes since <ref> (a change under base/ or overlays/",
        "affects every cluster whose build reads it); management/ when it changed",
      ),
    },
    {
      flag: "shard",
      type: "string",
      value: "<i>/<n>",
      help: lines(
        "only shard i of n (1 ≤ i ≤ n) of the clusters, for a CI matrix: a cluster's shard is",
        "a stable hash of its name; shard 1 also checks what belongs to no cluster (management/,",
        "shared generated files); fleet rules still compare against every cluster",
      ),
    },
    REPO_FLAG,
  ],
  footer: "Exit codes: 0 valid (warnings allowed), 1 invalid, 2 tool error.",
  run: async (opts, ctx, io) => {
    const { validateCommand } = await import("../commands/validate.js");
    const { parseShard } = await import("../validate/selection.js");
    // Usage first: a malformed --shard is a usage error wherever it is run.
    const shard = opts.shard === undefined ? undefined : parseShard(opts.shard);
    await requireReadable(io.repo);
    const { formatFindings } = await import("../validate/format.js");
    const tty = Boolean(io.stderr.isTTY);
    const result = await validateCommand(
      {
        cwd: io.repo,
        clusters: opts.positionals,
        changedSince: opts.changedSince,
        shard,
        skipCel: opts.skipCel,
        onProgress: tty ? (stage, done, total) => void io.stderr.write(`\r\x1b[K${stage} ${done}/${total}`) : undefined,
      },
      ctx,
    );
    if (tty) io.stderr.write("\r\x1b[K");
    io.out(formatFindings(result.findings, opts.format, result.summary));
    return result.summary.errors > 0 ? 1 : 0;
  },
});

const addons = defineCommand({
  name: "addons",
  summary: "hydrate the pinned add-ons (Cilium, AWS CCM per minor, EBS CSI) into addons/ with the pinned helm",
  usage: "npm run addons",
  description: lines(
    'Renders the add-on charts pinned in versions.json "addons" from their Go modules (`go mod download`) with the',
    "pinned helm (`helm template --kube-version`), offline, and writes addons/<addon>/<version>/ " +
      "(manifests + a kustomization",
    "making the ConfigMap that the clusters' ClusterResourceSets apply). Deterministic: a second run changes nothing.",
  ),
  flags: [REPO_FLAG],
  run: async (_opts, _ctx, io) => {
    await (await import("../commands/addons.js")).addonsCommand({ cwd: io.repo, log: io.out });
    return 0;
  },
});

const e2e = defineCommand({
  name: "e2e",
  summary: "apply the repository and fixture clusters to a real kube-apiserver with the upstream CAPI/CAPA webhooks",
  usage: "npm run e2e",
  description: lines(
    'Builds the pinned etcd and kube-apiserver into .tools/bin the first time (versions.json "e2e"; ≈ 10 min of CPU',
    "cold, 28 min measured on a busy 2-core machine; nothing later), starts them on 127.0.0.1 " +
      "(controller-runtime envtest, the Go suite in e2e/) with the pinned",
    `CRDs and the upstream CAPI/CAPA webhooks, and server-side applies every cluster of the repository, ` +
      `${SYNC_DIR} and`,
    `${PROVIDERS_DIR}, plus fixture clusters: creates must be accepted and read back intact; a second ` +
      `render after spec`,
    "changes must be accepted or denied by the server exactly as the tool says; then the management layer in order",
    "(cert-manager, cluster-api-operator, providers, sync), each step accepted. Then the box: the real CAPI",
    "controllers (core, kubeadm control plane and bootstrap), a stand-in CAPA and one workload API server per cluster",
    "reconcile every repository cluster and the fixtures e2e-dev, e2e-prod, e2e-pools (create, the accepted upgrade,",
    "a pool removed); prints one line per cluster, and the step → Argo CD → Flux health table must match README's.",
    'Prints "N passed, M failed" and the box\'s clusters passed and failed.',
  ),
  flags: [
    {
      flag: "no-fixtures",
      type: "boolean",
      help: "apply the repository only (not the fixture clusters, the flagged changes and the rings run)",
    },
    {
      flag: "plant",
      type: "strings",
      value: "<fault>",
      help: lines(
        `plant a fault the webhooks admit but the controllers cannot act on, in a copy of a box cluster (repeatable):`,
        "failure-domain (a MachineDeployment in a zone without subnet), addon-invalid (an add-on Deployment the",
        "workload's API server refuses), crs-no-cluster (a ClusterResourceSet selecting no cluster); the run must fail",
      ),
    },
    {
      flag: "write-health-table",
      type: "boolean",
      help: "write the run's health table into README.md (between its health-table markers) instead of comparing",
    },
    {
      flag: "input-only",
      type: "string",
      value: "<file>",
      help: "render everything, write the Go suite's input (E2E_INPUT JSON) to <file> and stop (no Go suite)",
    },
    {
      flag: "build-only",
      type: "boolean",
      alone: "runs nothing",
      help: lines(
        "build etcd, kube-apiserver and kustomize-controller (when not at their pins) and compile the Go suite, then",
        "stop: nothing is applied (`.ci/run` builds first, then runs `npm test`, the run and its tests side by side)",
      ),
    },
    REPO_FLAG,
  ],
  footer: "Exit codes: 0 every check passed, 1 a check failed, 2 tool error.",
  run: async (opts, ctx, io) => {
    const { e2eBuild, e2eCommand, parsePlant } = await import("../commands/e2e.js");
    if (opts.buildOnly) {
      await e2eBuild({ log: io.out });
      return 0;
    }
    const result = await e2eCommand({
      cwd: io.repo,
      log: io.out,
      fixtures: !opts.noFixtures,
      env: ctx.env,
      plant: parsePlant(opts.plant ?? []),
      inputOnly: opts.inputOnly,
      writeHealthTable: opts.writeHealthTable,
    });
    for (const f of result.failures) io.err(`FAIL ${f.test}\n${f.output.replace(/^/gm, "  ")}`);
    io.out(`box: ${result.box.passed.length} cluster(s) passed, ${result.box.failed.length} failed`);
    io.out(`${result.passed} passed, ${result.failed} failed`);
    return result.failed > 0 ? 1 : 0;
  },
});

const schemas = defineCommand({
  name: "schemas",
  summary: "regenerate schemas/kubeconform/ from the pinned upstream CRDs",
  usage: "npm run schemas",
  description: lines(
    "Downloads the CRD modules pinned in versions.json with `go mod download` and writes one JSON schema per kind",
    "and served version under schemas/kubeconform/ " +
      "(unserved versions are listed in schemas/kubeconform/unserved.json).",
  ),
  flags: [REPO_FLAG],
  run: async (_opts, _ctx, io) => {
    await (await import("../commands/schemas.js")).schemasCommand({ cwd: io.repo, log: io.out });
    return 0;
  },
});

const upgrade = defineCommand({
  name: "upgrade",
  summary: "one step of a staged Kubernetes upgrade: the control plane first, the pools in the next run",
  usage:
    "npm run upgrade -- --name <cluster>|--all [--ring <ring>] [--to <vX.Y.Z>] [--image-id <ami-…>] " +
    "[--pool-image-id <pool>=<ami-…>]… [--dry-run] [--branch] [--push [remote]]",
  description: lines(
    "One step per run (one pull request each), in the order the Kubernetes version-skew policy and Cluster API",
    "require: when a pool is behind the control plane, the pools behind it move to the control plane's version (their",
    "nodePools[].kubernetesVersion pins are removed); otherwise the control plane moves to --to (at most one minor up)",
    "and every pool stays at its version, pinned in cluster.yaml. The CCM and the cluster-autoscaler follow with the",
    "pools (step 2): they must not be newer than the API servers. Refused (exit 1, nothing written): a jump of two " +
      "minors",
    "(the single steps are printed), a downgrade, a target for which CAPA publishes no image in the cluster's " +
      "region while",
    "a machine uses CAPA's public image lookup, a machine with a fixed image (an AMI id) that moves without a new one",
    "(--image-id, --pool-image-id), a target minor without a pinned CCM or cluster-autoscaler, a result that does not",
    "build or validate (e.g. a version set by the cluster's own patch). Writes cluster.yaml (comments " +
      "and order kept) " +
      "and",
    "the cluster's generated/.",
  ),
  flags: [
    { flag: "name", type: "string", value: "<cluster>", help: "the cluster to upgrade" },
    {
      flag: "all",
      type: "boolean",
      help: lines(
        "every cluster: prints a table of what each would do; nothing is written when any cluster's",
        "step is refused (a cluster already newer than --to is left as it is)",
      ),
    },
    {
      flag: "ring",
      type: "string",
      value: "<ring>",
      help: "with --all: the clusters of this rollout ring only (capi-gitops.yaml rollout.rings), one ring at a time",
    },
    {
      flag: "to",
      type: "string",
      value: "<vX.Y.Z>",
      help: "the target version; default: the control plane's (only the pools' step)",
    },
    {
      flag: "image-id",
      type: "string",
      value: "<ami-…>",
      help: lines(
        "the new image of what moves in this step (the control plane in step 1, every pool that moves in",
        "step 2), written as image: {id, kubernetesVersion}; required where the image is fixed (an AMI id)",
      ),
    },
    {
      flag: "pool-image-id",
      type: "strings",
      value: "<pool>=<ami-…>",
      help: "one pool's new image in the pools' step (repeatable; where pools differ)",
    },
    { flag: "dry-run", type: "boolean", help: "print the diff of every file it would change, write nothing" },
    ...branchFlags(
      lines(
        "commit the step on branch upgrade/<name>-<version>-<step> (upgrade/all-… with --all, upgrade/ring-<ring>-…",
        "with --ring)",
        "(refuses, writing nothing, with unrelated staged changes or an existing branch)",
      ),
    ),
    REPO_FLAG,
  ],
  footer: "Exit codes: 0 done (or nothing to do), 1 refused (nothing written), 2 tool error.",
  run: async (opts, ctx, io) => {
    if (!opts.dryRun) await requireRepository(io.repo, false);
    await requireReadable(io.repo);
    await (
      await import("../commands/upgrade.js")
    ).upgradeCommand({
      ctx,
      cwd: io.repo,
      log: io.out,
      name: opts.name,
      all: opts.all,
      ring: opts.ring,
      to: opts.to,
      dryRun: opts.dryRun,
      ...branchOf(opts),
      imageId: opts.imageId,
      poolImageIds: opts.poolImageId,
    });
    return 0;
  },
});

const release = defineCommand({
  name: "release",
  summary: "move base/ and the overlays one rollout ring forward: the first ring, then each next one in order",
  usage: "npm run release -- --ring <ring> [--branch] [--push [remote]]",
  description: lines(
    "With two rollout rings or more (capi-gitops.yaml rollout.rings), the clusters of each ring build from that",
    "ring's release, releases/<ring>/, not from base/ and the overlays: a change to those (a new generator version)",
    "reaches no cluster until it is released. The first ring takes base/ and the overlays as `generate` wrote them; a",
    "later ring takes the release of the ring before it. Writes releases/<ring>/ and the generated/ of the ring's",
    "clusters (their template names follow the released objects). Refused (exit 1, nothing written): an unknown ring,",
    "a ring whose previous ring holds nothing newer (release that one first), a release edited by hand.",
  ),
  flags: [
    { flag: "ring", type: "string", value: "<ring>", help: "the ring to release to (required)" },
    ...branchFlags("commit the release on branch release/<ring>-<number> (refuses with staged changes)"),
    REPO_FLAG,
  ],
  footer: "Exit codes: 0 released (or nothing to release), 1 refused (nothing written), 2 tool error.",
  run: async (opts, _ctx, io) => {
    await requireRepository(io.repo, false);
    await (
      await import("../commands/release.js")
    ).releaseCommand({ cwd: io.repo, log: io.out, ring: opts.ring, ...branchOf(opts) });
    return 0;
  },
});

const inventory = defineCommand({
  name: "inventory",
  summary: "the fleet at a glance: versions, sizes, add-ons, upgrade state and validate's findings per cluster",
  usage: "npm run inventory -- [cluster...] [--format text|markdown|json] [--no-validate]",
  positionals: "cluster",
  description: lines(
    "One entry per cluster (every cluster, or the named ones): namespace, region and zones, profile, " +
      "control plane (version, replicas, instance type),",
    "pools (instance type, zones, min/max or replicas, version), workers kind, VPC CIDR, add-on " +
      "versions, where it is in",
    "an upgrade, and what validate finds (its pipeline without the CEL and admission layers, which report only errors;",
    "run validate for the full verdict). Markdown is a table (PR comments, wikis); JSON has the stable " +
      "shape documented",
    'in README ("Fleet inventory"). Writes nothing.',
  ),
  flags: [
    formatFlag(
      INVENTORY_FORMATS,
      "output; default text",
      `--format must be one of ${INVENTORY_FORMATS.join(", ")}\n\nSee: npm run inventory -- --help`,
    ),
    {
      flag: "no-validate",
      type: "boolean",
      help: "skip validate (no kustomize or kubeconform needed); its validation is then null",
    },
    REPO_FLAG,
  ],
  footer: "Exit codes: 0 (findings are listed, not judged), 1 a cluster.yaml does not load, 2 tool error.",
  run: async (opts, ctx, io) => {
    await requireReadable(io.repo);
    const { inventoryCommand } = await import("../commands/inventory.js");
    const result = await inventoryCommand({
      ctx,
      cwd: io.repo,
      format: opts.format,
      validate: !opts.noValidate,
      clusters: opts.positionals,
    });
    io.out(result.output);
    return result.inventory.unreadable.length ? 1 : 0;
  },
});

const managementCharts = defineCommand({
  name: "management-charts",
  summary:
    "renders the pinned cert-manager and cluster-api-operator charts offline into management/ " +
    "(the management layer)",
  usage: "npm run management-charts",
  description: lines(
    'Downloads the chart modules pinned in versions.json "management" (go mod download) and renders them with the ' +
      "pinned",
    "helm (--kube-version) into this checkout's management/cert-manager/ and management/cluster-api-operator/, each",
    "object with its Argo CD sync wave and the sync-safety annotations; `npm run generate` copies them into a",
    "repository. The operator's chart is first completed as its release does (kustomize build config/chart). A second",
    "run changes nothing.",
  ),
  flags: [],
  footer: "Exit codes: 0 written, 2 tool error (go, helm or kustomize missing or failing).",
  run: async (_opts, _ctx, io) => {
    await (await import("../commands/management-charts.js")).managementChartsCommand({ log: io.out });
    return 0;
  },
});

const leftovers = defineCommand({
  name: "leftovers",
  summary:
    "what Git no longer renders but Argo CD / Flux left on the management cluster, with the kubectl delete lines",
  usage: "npm run leftovers -- [cluster...] [--since <ref>] [--format text|json]",
  positionals: "cluster",
  description: lines(
    "Generated objects are never pruned (Prune=false, prune: disabled), so an old hash-named template, an old add-on",
    "ConfigMap or a renamed pool's objects stay on the management cluster. This renders every first-parent commit of " +
      "HEAD",
    "that changed clusters/, base/, overlays/ or addons/ (in temporary worktrees, with kustomize) and " +
      "lists, per cluster",
    "of HEAD, each object rendered once and no longer: the commit that last rendered it, the commit that dropped it, " +
      "when",
    "it becomes unused (e.g. a template no MachineSet or machine uses after the roll-out), a read-only " +
      "kubectl check that",
    "prints 0 once it is unused, and the `kubectl delete` line to run then. Deletes nothing and contacts no cluster.",
  ),
  flags: [
    {
      flag: "since",
      type: "string",
      value: "<ref>",
      help: "only objects rendered at <ref> or after (default: the whole history)",
    },
    formatFlag(LEFTOVER_FORMATS, "output; default text"),
    REPO_FLAG,
  ],
  footer:
    "Exit codes: 0 listed (leftovers are not an error), 1 a commit or cluster did not render (listed anyway), " +
    "2 tool error.",
  run: async (opts, _ctx, io) => {
    await requireReadable(io.repo);
    const { formatLeftovers } = await import("../fleet/leftovers.js");
    const { leftoversCommand } = await import("../commands/leftovers.js");
    const result = await leftoversCommand({
      cwd: io.repo,
      clusters: opts.positionals,
      since: opts.since,
      log: io.err,
    });
    for (const f of result.findings) io.err(`${f.severity} ${f.cluster ?? ""} ${f.file}: ${f.message}`);
    io.out(formatLeftovers(result.report, opts.format));
    return result.findings.some((f) => f.severity === "error") ? 1 : 0;
  },
});

const importCluster = defineCommand({
  name: "import",
  summary: "import a cluster made by `clusterctl generate cluster` (or a Helm chart) as clusters/<name>/",
  usage: "npm run import -- --file <manifests.yaml> [--name <name>] [--kubernetes-version <v>] [--dry-run] [flags]",
  description: lines(
    "Reads the manifests of one cluster (CAPI v1beta1/v1beta2 Cluster, KubeadmControlPlane, MachineDeployments or",
    "MachinePools; CAPA v1beta1/v1beta2 AWSCluster and machine templates) and writes clusters/<name>/cluster.yaml (the",
    "spec: region, zones, versions, control plane, pools, SSH key, CIDRs) and clusters/<name>/kustomization.yaml with",
    "strategic-merge patches for what the spec cannot say, then builds and validates the cluster like new-cluster " +
      "(nothing",
    "is written when anything fails). Prints what it mapped, what it kept as a patch, what it dropped, and why.",
    "clusterctl variables (${VAR}, ${VAR:=default}) are substituted from --var, then the environment; CLUSTER_NAME",
    "comes from --name and KUBERNETES_VERSION from --kubernetes-version. Refused (exit 1): a Kubernetes " +
      "version outside",
    `${SUPPORTED} without --kubernetes-version, IPv6/dual-stack, Ignition (Flatcar), EKS, ROSA and ` +
      `ClusterClass clusters.`,
  ),
  flags: [
    { flag: "file", type: "string", value: "<manifests.yaml>", help: "the cluster's manifests (required)" },
    {
      flag: "name",
      type: "string",
      value: "<name>",
      help: "the cluster's name here (default: the source Cluster's)",
    },
    {
      flag: "namespace",
      type: "string",
      value: "<namespace>",
      help: 'its namespace here (default: the source\'s, unless reserved like "default"; then the name)',
    },
    {
      flag: "kubernetes-version",
      type: "string",
      value: "<v>",
      help: `import at this version (required when the source's is outside ${SUPPORTED})`,
    },
    {
      flag: "var",
      type: "strings",
      value: "<NAME=value>",
      help: "a clusterctl variable for a raw template (repeatable)",
    },
    {
      flag: "image-id",
      type: "string",
      value: "<ami-…>",
      help: lines(
        "the cluster's machine image (replaces the source's; CAPA publishes its public images only for a few",
        "versions and regions, so a source relying on them elsewhere needs one of these two)",
      ),
    },
    {
      flag: "image-lookup-org",
      type: "string",
      value: "<account>",
      help: "the AWS account whose image-builder images CAPA looks up (replaces the source's cluster image)",
    },
    {
      flag: "identity-account",
      type: "string",
      value: "<12 digits>",
      help: "the AWS account of the source's AWSClusterStaticIdentity credentials (the manifests do not say it)",
    },
    { flag: "dry-run", type: "boolean", help: "print the report and the files instead of writing them" },
    {
      flag: "no-render",
      type: "boolean",
      help: lines(
        "skip the kustomize build and validation of the imported cluster (not recommended);",
        "every field the spec cannot say is then kept as a patch, even one the render has",
      ),
    },
    INIT_FLAG,
    REPO_FLAG,
  ],
  footer:
    "Exit codes: 0 imported, 1 the source cannot be imported or the result is invalid (nothing written), " +
    "2 tool error.",
  run: async (opts, ctx, io) => {
    if (!opts.dryRun) await requireRepository(io.repo, opts.init);
    await (
      await import("../commands/import.js")
    ).importCommand({
      ctx,
      cwd: io.repo,
      base: io.cwd,
      log: io.out,
      file: opts.file,
      name: opts.name,
      namespace: opts.namespace,
      kubernetesVersion: opts.kubernetesVersion,
      identityAccount: opts.identityAccount,
      imageId: opts.imageId,
      imageLookupOrg: opts.imageLookupOrg,
      vars: opts.var,
      env: ctx.env,
      dryRun: opts.dryRun,
      render: !opts.noRender,
    });
    return 0;
  },
});

/** Every command, in the order of the top-level help. */
export const COMMANDS: readonly Command[] = [
  setup,
  newCluster,
  removeCluster,
  generate,
  diff,
  validate,
  addons,
  e2e,
  schemas,
  upgrade,
  release,
  inventory,
  managementCharts,
  leftovers,
  importCluster,
];

const textOf = (t: Text, pins: () => Versions) => (typeof t === "string" ? t : t(pins));

const flagLabel = (f: FlagDef): string =>
  [`--${f.flag}`, f.short ? `, -${f.short}` : "", f.value ? ` ${f.value}` : ""].join("");

/** A command's help, from its declaration (texts naming pinned versions read the pins now). */
export function commandHelp(c: Command, pins: () => Versions = versions): string {
  const labels = c.flags.map(flagLabel);
  const width = Math.max(0, ...labels.map((l) => l.length)) + 2;
  const flags = c.flags.map(
    (f) => `  ${flagLabel(f).padEnd(width)}${f.help.split("\n").join(`\n  ${" ".repeat(width)}`)}`,
  );
  const description = c.description === undefined ? undefined : textOf(c.description, pins);
  return [
    `Usage: ${c.usage}`,
    ...(description ? ["", description] : []),
    ...(flags.length ? ["", ...flags] : []),
    ...(c.footer ? ["", c.footer] : []),
  ].join("\n");
}

/** The top-level help. */
export function topHelp(pins: () => Versions = versions): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  const commands = [
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${textOf(c.summary, pins)}`),
    `  ${"help".padEnd(width)}this text; \`<command> --help\` for a command`,
  ];
  return lines(
    "capi-gitops — GitOps repository generator and validator for Cluster API clusters on AWS",
    "",
    "Usage: npm run <command> -- [flags]      (or: node generator/bin/capi-gitops.js <command> [flags])",
    "",
    "Commands:",
    ...commands,
    "",
    "Exit codes: 0 ok, 1 invalid input or repository, 2 tool error (usage, missing binary).",
  );
}
