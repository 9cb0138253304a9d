/**
 * The CLI, declared once: every command with its summary, usage, description and one table of flags (flag, value,
 * help text). The parser options and every help text are derived from it (cli.ts); the spec flags of
 * `new-cluster` come from cluster-spec/flags.ts, which also maps them onto the spec. Pure: no I/O.
 */
import { SPEC_SCHEMA_PATH } from "../plan/cluster.js";
import { CONFIG_SCHEMA_PATH } from "../plan/repo.js";
import { PROVIDERS_DIR, SYNC_DIR } from "../core/layout.js";
import { versions } from "../pins/versions.js";
import { POOL_SYNTAX, SPEC_FLAGS } from "../cluster-spec/flags.js";
import { SUPPORTED_MINORS } from "../cluster-spec/parse.js";

/** The Kubernetes versions the spec accepts (import refuses others without --kubernetes-version). */
const SUPPORTED = `v1.${SUPPORTED_MINORS.min}–v1.${SUPPORTED_MINORS.max}`;

export interface FlagDef {
  /** The flag without its dashes. */
  readonly flag: string;
  readonly short?: string;
  /** string: one value; strings: repeatable; optional: a value that may be left out (then `default`); boolean. */
  readonly type: "string" | "strings" | "optional" | "boolean";
  /** The placeholder shown in the help (none for a boolean). */
  readonly value?: string;
  /** The value of an `optional` flag given without one. */
  readonly default?: string;
  readonly help: string;
}

export interface CommandDef {
  readonly name: string;
  /** One line for the top-level help. */
  readonly summary: string;
  readonly usage: string;
  /** Text between the usage line and the flags. */
  readonly description?: string;
  readonly flags: readonly FlagDef[];
  /** Text after the flags. */
  readonly footer?: string;
  /** The name of its positional arguments, when it takes any. */
  readonly positionals?: string;
}

/** The Go tools `setup` builds, as versions.json pins them (the help texts list them from there). */
const TOOLS = Object.entries(versions().tools).sort(([a], [b]) => (a < b ? -1 : 1));
const sayList = (xs: string[]) => (xs.length > 1 ? `${xs.slice(0, -1).join(", ")} and ${xs.at(-1)}` : (xs[0] ?? ""));

const REPO: FlagDef = {
  flag: "repo",
  type: "string",
  value: "<dir>",
  help: "repository root (default: current directory)",
};
const HELP_FLAG: FlagDef = { flag: "help", short: "h", type: "boolean", help: "this text" };
const INIT_HELP =
  "start a new repository here (no capi-gitops.yaml yet); without it, a folder\nwithout capi-gitops.yaml is refused (exit 2)";
const pushFlag = (): FlagDef => ({
  flag: "push",
  type: "optional",
  value: "[remote]",
  default: "origin",
  help: "push that branch (default remote: origin); implies --branch",
});

export const COMMANDS: readonly CommandDef[] = [
  {
    name: "setup",
    summary: `build the pinned ${sayList(TOOLS.map(([n]) => n))} into .tools/bin (run by \`npm run setup\` after npm ci)`,
    usage: "npm run setup",
    description: `Runs npm ci, then builds the Go tools pinned in versions.json with \`go install\` into .tools/bin:
${TOOLS.map(([n, t]) => `  ${n.padEnd(18)}${t.module}@${t.version}`).join("\n")}
and lays the pinned CRDs into .tools/crds (for the CEL layer of validate).
Tools already at their pinned version are skipped (--force rebuilds).`,
    flags: [{ flag: "force", type: "boolean", help: "rebuild every tool, even one at its pinned version" }, REPO],
  },
  {
    name: "new-cluster",
    summary: "add clusters/<name>/ from flags, or prompts on a terminal",
    usage: "npm run new-cluster -- --name <name> --region <region> [flags]",
    description: `Creates clusters/<name>/cluster.yaml (the spec, every default written out), clusters/<name>/kustomization.yaml
(yours to edit) and clusters/<name>/generated/ (the generated overlay). Nothing is written when any input is
invalid or the cluster exists. On a terminal it asks for what is missing, unless --yes.`,
    flags: [
      ...SPEC_FLAGS.map((f): FlagDef => ({
        flag: f.flag,
        type: f.kind === "pools" ? "strings" : "string",
        value: f.value,
        help: f.kind === "pools" ? `${f.help}\n${POOL_SYNTAX}` : f.help,
      })),
      { flag: "dry-run", type: "boolean", help: "print the files instead of writing them" },
      { flag: "yes", short: "y", type: "boolean", help: "never prompt" },
      {
        flag: "no-render",
        type: "boolean",
        help: "skip the kustomize build and validation of the new cluster (not recommended)",
      },
      {
        flag: "branch",
        type: "boolean",
        help: "create branch cluster/<name> from HEAD and commit exactly the new cluster there\n(refuses, writing nothing, with unrelated staged changes or an existing branch)",
      },
      pushFlag(),
      { flag: "init", type: "boolean", help: INIT_HELP },
      REPO,
    ],
  },
  {
    name: "remove-cluster",
    summary: "remove clusters/<name>/ from Git and print how to delete the cluster the supported way",
    usage: "npm run remove-cluster -- --name <name> [--branch] [--push [remote]]",
    description: `Removes clusters/<name>/ (and its entries in management/sync/) and prints the supported way to delete the
cluster: delete only the Cluster object; CAPI tears the rest down in order. Argo CD and Flux never delete the
cluster's objects because a directory went away (preserveResourcesOnDeletion / deletionPolicy Orphan, and every
object is annotated Prune=false,Delete=false / prune: disabled).

Refuses (exit 1, nothing changed) when clusters/<name>/ holds uncommitted changes or untracked files, or the
repository is not a git repository, unless --force.`,
    flags: [
      { flag: "name", type: "string", value: "<name>", help: "the cluster to remove (required)" },
      { flag: "force", type: "boolean", help: "remove it even so (what Git does not hold is lost)" },
      {
        flag: "branch",
        type: "boolean",
        help: "commit the removal on branch remove-cluster/<name> (refuses with staged changes or an existing branch)",
      },
      pushFlag(),
      REPO,
    ],
  },
  {
    name: "generate",
    summary:
      "regenerate base/, overlays/, management/, schemas/*.schema.json and every cluster's generated/ overlay from the specs",
    usage: "npm run generate [-- --repo <dir>]",
    description: `Regenerates base/, overlays/ (profiles and components), ${SYNC_DIR}/, ${PROVIDERS_DIR}/, ${SPEC_SCHEMA_PATH},
${CONFIG_SCHEMA_PATH} and every clusters/<name>/generated/ from clusters/*/cluster.yaml. Deterministic: a second run changes nothing. Never touches clusters/<name>/cluster.yaml
or clusters/<name>/kustomization.yaml.`,
    flags: [{ flag: "init", type: "boolean", help: INIT_HELP }, REPO],
  },
  {
    name: "diff",
    summary: "per-cluster, per-object diff of the rendered resources against a git ref, with risky changes flagged",
    usage: "npm run diff -- --base <ref> [--format text|markdown]",
    description: `Finds the clusters affected between <ref> and the working tree, renders both sides with kustomize, and prints a
per-cluster, per-object diff. Flags what the management cluster would reject or what would not roll out: a
template's spec changed under the same name, AWSCluster region or load-balancer scheme changed, a Kubernetes
version jump of more than one minor (or down), a Cluster renamed or moved to another namespace.
For a pull request use the merge base: --base "$(git merge-base origin/main HEAD)".`,
    flags: [
      { flag: "base", type: "string", value: "<ref>", help: "the git ref to compare with (required)" },
      { flag: "format", type: "string", value: "text|markdown", help: "output; default text" },
      REPO,
    ],
    footer: "Exit codes: 0 (flags are findings too: 1 when any is an error), 2 tool error.",
  },
  {
    name: "validate",
    summary:
      "render every cluster (or the named ones) and check it: spec, drift, kubeconform, upstream admission, CEL, our rules",
    usage: "npm run validate [-- [cluster...] [--format text|json|github]]",
    positionals: "cluster",
    description: `For each cluster (all by default): the spec against its JSON Schema and checks; the generated files against what
the spec generates (drift); one batched \`kustomize build\`; kubeconform -strict against schemas/kubeconform (no
network, no missing schemas allowed); the real upstream CAPI/CAPA admission (capi-gitops-admission: strict
decoding, CRD schema and CEL, conversion, the upstream webhooks; UPDATE against the previous render with
--changed-since); kubectl-validate for the CEL rules of the management CRDs (Argo CD, Flux, operator); what Argo CD /
Flux would do with the sync manifests; and our rules for what no webhook checks (references, CIDR overlaps, zones,
version skew, secrets, sync safety, add-ons). Findings are grouped by cluster with file and field.
CAPI_GITOPS_ADMISSION=off switches the admission layer off — a debugging switch: the webhook checks it replaced
(validate/upstream-replaced.ts) are then not made at all, and the clusters' CRD CEL rules go to kubectl-validate.`,
    flags: [
      {
        flag: "format",
        type: "string",
        value: "text|json|github",
        help: "output (github: workflow annotations); default text",
      },
      {
        flag: "skip-cel",
        type: "boolean",
        help: "skip the kubectl-validate layer (management CRDs' CEL rules; CI never does)",
      },
      {
        flag: "changed-since",
        type: "string",
        value: "<ref>",
        help: "only the clusters affected by changes since <ref> (a change under base/ or overlays/\naffects every cluster whose build reads it); management/ when it changed",
      },
      {
        flag: "shard",
        type: "string",
        value: "<i>/<n>",
        help: "only shard i of n (1 ≤ i ≤ n) of the clusters, for a CI matrix: a cluster's shard is\na stable hash of its name; shard 1 also checks what belongs to no cluster (management/,\nshared generated files); fleet rules still compare against every cluster",
      },
      REPO,
    ],
    footer: "Exit codes: 0 valid (warnings allowed), 1 invalid, 2 tool error.",
  },
  {
    name: "addons",
    summary: "hydrate the pinned add-ons (Cilium, AWS CCM per minor, EBS CSI) into addons/ with the pinned helm",
    usage: "npm run addons",
    description: `Renders the add-on charts pinned in versions.json "addons" from their Go modules (\`go mod download\`) with the
pinned helm (\`helm template --kube-version\`), offline, and writes addons/<addon>/<version>/ (manifests + a kustomization
making the ConfigMap that the clusters' ClusterResourceSets apply). Deterministic: a second run changes nothing.`,
    flags: [REPO],
  },
  {
    name: "e2e",
    summary: "apply the repository and fixture clusters to a real kube-apiserver with the upstream CAPI/CAPA webhooks",
    usage: "npm run e2e",
    description: `Builds the pinned etcd and kube-apiserver into .tools/bin the first time (versions.json "e2e"; ≈ 10 min of CPU
cold, 28 min measured on a busy 2-core machine; nothing later), starts them on 127.0.0.1 (controller-runtime envtest, the Go suite in e2e/) with the pinned
CRDs and the upstream CAPI/CAPA webhooks, and server-side applies every cluster of the repository, ${SYNC_DIR} and
${PROVIDERS_DIR}, plus fixture clusters: creates must be accepted and read back intact; a second render after spec
changes must be accepted or denied by the server exactly as the tool says; then the management layer in order
(cert-manager, cluster-api-operator, providers, sync), each step accepted. Prints "N passed, M failed".`,
    flags: [
      {
        flag: "no-fixtures",
        type: "boolean",
        help: "apply the repository only (not the fixture clusters and flagged changes)",
      },
      REPO,
    ],
    footer: "Exit codes: 0 every check passed, 1 a check failed, 2 tool error.",
  },
  {
    name: "schemas",
    summary: "regenerate schemas/kubeconform/ from the pinned upstream CRDs",
    usage: "npm run schemas",
    description: `Downloads the CRD modules pinned in versions.json with \`go mod download\` and writes one JSON schema per kind
and served version under schemas/kubeconform/ (unserved versions are listed in schemas/kubeconform/unserved.json).`,
    flags: [REPO],
  },
  // issue 14 (day-2): upgrade and inventory
  {
    name: "upgrade",
    summary: "one step of a staged Kubernetes upgrade: the control plane first, the pools in the next run",
    usage:
      "npm run upgrade -- --name <cluster>|--all [--to <vX.Y.Z>] [--image-id <ami-…>] [--pool-image-id <pool>=<ami-…>]… [--dry-run] [--branch] [--push [remote]]",
    description: `One step per run (one pull request each), in the order the Kubernetes version-skew policy and Cluster API
require: when a pool is behind the control plane, the pools behind it move to the control plane's version (their
nodePools[].kubernetesVersion pins are removed); otherwise the control plane moves to --to (at most one minor up)
and every pool stays at its version, pinned in cluster.yaml. The CCM and the cluster-autoscaler follow with the
pools (step 2): they must not be newer than the API servers. Refused (exit 1, nothing written): a jump of two minors
(the single steps are printed), a downgrade, a target for which CAPA publishes no image in the cluster's region while
a machine uses CAPA's public image lookup, a machine with a fixed image (an AMI id) that moves without a new one
(--image-id, --pool-image-id), a target minor without a pinned CCM or cluster-autoscaler, a result that does not
build or validate (e.g. a version set by the cluster's own patch). Writes cluster.yaml (comments and order kept) and
the cluster's generated/.`,
    flags: [
      { flag: "name", type: "string", value: "<cluster>", help: "the cluster to upgrade" },
      {
        flag: "all",
        type: "boolean",
        help: "every cluster: prints a table of what each would do; nothing is written when any cluster's\nstep is refused (a cluster already newer than --to is left as it is)",
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
        help: "the new image of what moves in this step (the control plane in step 1, every pool that moves in\nstep 2), written as image: {id, kubernetesVersion}; required where the image is fixed (an AMI id)",
      },
      {
        flag: "pool-image-id",
        type: "strings",
        value: "<pool>=<ami-…>",
        help: "one pool's new image in the pools' step (repeatable; where pools differ)",
      },
      { flag: "dry-run", type: "boolean", help: "print the diff of every file it would change, write nothing" },
      {
        flag: "branch",
        type: "boolean",
        help: "commit the step on branch upgrade/<name>-<version>-<step> (upgrade/all-… with --all)\n(refuses, writing nothing, with unrelated staged changes or an existing branch)",
      },
      pushFlag(),
      REPO,
    ],
    footer: "Exit codes: 0 done (or nothing to do), 1 refused (nothing written), 2 tool error.",
  },
  {
    name: "inventory",
    summary: "the fleet at a glance: versions, sizes, add-ons, upgrade state and validate's findings per cluster",
    usage: "npm run inventory -- [cluster...] [--format text|markdown|json] [--no-validate]",
    positionals: "cluster",
    description: `One entry per cluster (every cluster, or the named ones): namespace, region and zones, profile, control plane (version, replicas, instance type),
pools (instance type, zones, min/max or replicas, version), workers kind, VPC CIDR, add-on versions, where it is in
an upgrade, and what validate finds (its pipeline without the CEL and admission layers, which report only errors;
run validate for the full verdict). Markdown is a table (PR comments, wikis); JSON has the stable shape documented
in README ("Fleet inventory"). Writes nothing.`,
    flags: [
      { flag: "format", type: "string", value: "text|markdown|json", help: "output; default text" },
      {
        flag: "no-validate",
        type: "boolean",
        help: "skip validate (no kustomize or kubeconform needed); its validation is then null",
      },
      REPO,
    ],
    footer: "Exit codes: 0 (findings are listed, not judged), 1 a cluster.yaml does not load, 2 tool error.",
  },
  // --- management-charts (issue 19 item 9) ---
  {
    name: "management-charts",
    summary:
      "renders the pinned cert-manager and cluster-api-operator charts offline into management/ (the management layer)",
    usage: "npm run management-charts",
    description: `Downloads the chart modules pinned in versions.json "management" (go mod download) and renders them with the pinned
helm (--kube-version) into this checkout's management/cert-manager/ and management/cluster-api-operator/, each
object with its Argo CD sync wave and the sync-safety annotations; \`npm run generate\` copies them into a
repository. The operator's chart is first completed as its release does (kustomize build config/chart). A second
run changes nothing.`,
    flags: [],
    footer: "Exit codes: 0 written, 2 tool error (go, helm or kustomize missing or failing).",
  },
  // --- leftovers (issue 19 item 7) ---
  {
    name: "leftovers",
    summary:
      "what Git no longer renders but Argo CD / Flux left on the management cluster, with the kubectl delete lines",
    usage: "npm run leftovers -- [cluster...] [--since <ref>] [--format text|json]",
    positionals: "cluster",
    description: `Generated objects are never pruned (Prune=false, prune: disabled), so an old hash-named template, an old add-on
ConfigMap or a renamed pool's objects stay on the management cluster. This renders every first-parent commit of HEAD
that changed clusters/, base/, overlays/ or addons/ (in temporary worktrees, with kustomize) and lists, per cluster
of HEAD, each object rendered once and no longer: the commit that last rendered it, the commit that dropped it, when
it becomes unused (e.g. a template no MachineSet or machine uses after the roll-out), a read-only kubectl check that
prints 0 once it is unused, and the \`kubectl delete\` line to run then. Deletes nothing and contacts no cluster.`,
    flags: [
      {
        flag: "since",
        type: "string",
        value: "<ref>",
        help: "only objects rendered at <ref> or after (default: the whole history)",
      },
      { flag: "format", type: "string", value: "text|json", help: "output; default text" },
      REPO,
    ],
    footer:
      "Exit codes: 0 listed (leftovers are not an error), 1 a commit or cluster did not render (listed anyway), 2 tool error.",
  },
  // --- import (issue 14) ---
  {
    name: "import",
    summary: "import a cluster made by `clusterctl generate cluster` (or a Helm chart) as clusters/<name>/",
    usage: "npm run import -- --file <manifests.yaml> [--name <name>] [--kubernetes-version <v>] [--dry-run] [flags]",
    description: `Reads the manifests of one cluster (CAPI v1beta1/v1beta2 Cluster, KubeadmControlPlane, MachineDeployments or
MachinePools; CAPA v1beta1/v1beta2 AWSCluster and machine templates) and writes clusters/<name>/cluster.yaml (the
spec: region, zones, versions, control plane, pools, SSH key, CIDRs) and clusters/<name>/kustomization.yaml with
strategic-merge patches for what the spec cannot say, then builds and validates the cluster like new-cluster (nothing
is written when anything fails). Prints what it mapped, what it kept as a patch, what it dropped, and why.
clusterctl variables (\${VAR}, \${VAR:=default}) are substituted from --var, then the environment; CLUSTER_NAME
comes from --name and KUBERNETES_VERSION from --kubernetes-version. Refused (exit 1): a Kubernetes version outside
${SUPPORTED} without --kubernetes-version, IPv6/dual-stack, Ignition (Flatcar), EKS, ROSA and ClusterClass clusters.`,
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
        help: "the cluster's machine image (replaces the source's; CAPA publishes its public images only for a few\nversions and regions, so a source relying on them elsewhere needs one of these two)",
      },
      {
        flag: "image-lookup-org",
        type: "string",
        value: "<account>",
        help: "the AWS account whose image-builder images CAPA looks up (replaces the source's cluster image)",
      },
      { flag: "dry-run", type: "boolean", help: "print the report and the files instead of writing them" },
      {
        flag: "no-render",
        type: "boolean",
        help: "skip the kustomize build and validation of the imported cluster (not recommended);\nevery field the spec cannot say is then kept as a patch, even one the render has",
      },
      { flag: "init", type: "boolean", help: INIT_HELP },
      REPO,
    ],
    footer:
      "Exit codes: 0 imported, 1 the source cannot be imported or the result is invalid (nothing written), 2 tool error.",
  },
];

/** Every command's flags, with --help. */
export const flagsOf = (c: CommandDef): readonly FlagDef[] => [...c.flags, HELP_FLAG];

const flagLabel = (f: FlagDef): string =>
  [`--${f.flag}`, f.short ? `, -${f.short}` : "", f.value ? ` ${f.value}` : ""].join("");

/** A command's help, from its declaration. */
export function commandHelp(c: CommandDef): string {
  const labels = c.flags.map(flagLabel);
  const width = Math.max(0, ...labels.map((l) => l.length)) + 2;
  const flags = c.flags.map(
    (f, i) => `  ${labels[i]!.padEnd(width)}${f.help.split("\n").join(`\n  ${" ".repeat(width)}`)}`,
  );
  return [
    `Usage: ${c.usage}`,
    ...(c.description ? ["", c.description] : []),
    ...(flags.length ? ["", ...flags] : []),
    ...(c.footer ? ["", c.footer] : []),
  ].join("\n");
}

/** The top-level help. */
export function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return `capi-gitops — GitOps repository generator and validator for Cluster API clusters on AWS

Usage: npm run <command> -- [flags]      (or: tsx generator/src/cli.ts <command> [flags])

Commands:
${[...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`), `  ${"help".padEnd(width)}this text; \`<command> --help\` for a command`].join("\n")}

Exit codes: 0 ok, 1 invalid input or repository, 2 tool error (usage, missing binary).`;
}
