/**
 * The command-line entry point: maps flags to options, runs one command, renders findings, and is the only
 * place that decides the exit code (0 ok, 1 invalid input or repository, 2 the tool failed).
 */
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import path from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { CapiGitopsError, InvalidInputError, ToolError, UsageError } from "./errors.js";
import { formatFinding, truncate } from "./findings.js";
import { versions } from "./versions.js";

/** The Go tools `setup` builds, as versions.json pins them (the help texts list them from there). */
const TOOLS = Object.entries(versions().tools).sort(([a], [b]) => (a < b ? -1 : 1));
const toolNames = TOOLS.map(([n]) => n);
const sayList = (xs: string[]) => (xs.length > 1 ? `${xs.slice(0, -1).join(", ")} and ${xs.at(-1)}` : (xs[0] ?? ""));

const HELP: Record<string, string> = {
  "": `capi-gitops — GitOps repository generator and validator for Cluster API clusters on AWS

Usage: npm run <command> -- [flags]      (or: tsx generator/src/cli.ts <command> [flags])

Commands:
  setup         build the pinned ${sayList(toolNames)} into .tools/bin (run by \`npm run setup\` after npm ci)
  new-cluster   add clusters/<name>/ from flags, or prompts on a terminal
  remove-cluster  remove clusters/<name>/ from Git and print how to delete the cluster the supported way
  generate      regenerate base/, overlays/ and every cluster's generated/ overlay from the specs
  diff          per-cluster, per-object diff of the rendered resources against a git ref, with risky changes flagged
  validate      render every cluster (or the named ones) and check it: spec, drift, kubeconform, CEL, our rules
  schemas       regenerate schemas/kubeconform/ from the pinned upstream CRDs
  help          this text; \`<command> --help\` for a command

Exit codes: 0 ok, 1 invalid input or repository, 2 tool error (usage, missing binary).`,
  "new-cluster": `Usage: npm run new-cluster -- --name <name> --region <region> [flags]

Creates clusters/<name>/cluster.yaml (the spec, every default written out), clusters/<name>/kustomization.yaml
(yours to edit) and clusters/<name>/generated/ (the generated overlay). Nothing is written when any input is
invalid or the cluster exists. On a terminal it asks for what is missing, unless --yes.

  --name <name>                     cluster name: [a-z]([-a-z0-9]*[a-z0-9])?, ≤ 40 characters (required)
  --region <region>                 AWS region, e.g. ap-northeast-2 (required)
  --namespace <ns>                  management-cluster namespace (default: the name)
  --zones <a,b,c>                   availability zones (default: the region's first three)
  --kubernetes-version <vX.Y.Z>     default v1.34.2
  --profile dev|prod                default dev (sizes and health-check strictness)
  --workers MachinePool|MachineDeployment   default MachinePool
  --control-plane-replicas <odd n>  default from the profile (dev 1, prod 3)
  --control-plane-instance-type <t> default from the profile
  --pool <spec>                     a node pool, repeatable; default one pool "default". <spec> is
                                    name=<n>,instance-type=<t>,zones=<z1+z2>,min-size=<n>,max-size=<n>,
                                    autoscaling=true|false,replicas=<n>,kubernetes-version=<v>,labels=<k:v+k2:v2>
  --vpc-cidr <cidr>                 default 10.0.0.0/16 (/16../24)
  --pod-cidr <cidr>                 default 192.168.0.0/16
  --service-cidr <cidr>             default 10.96.0.0/12
  --ssh-key-name <key>              existing EC2 key pair (default: none)
  --dry-run                         print the files instead of writing them
  --yes, -y                         never prompt
  --no-render                       skip the kustomize build and validation of the new cluster (not recommended)
  --branch                          create branch cluster/<name> from HEAD and commit exactly the new cluster there
                                    (refuses, writing nothing, with unrelated staged changes or an existing branch)
  --push [remote]                   push that branch (default remote: origin); implies --branch
  --init                            start a new repository here (no capi-gitops.yaml yet); without it, a folder
                                    without capi-gitops.yaml is refused (exit 2)
  --repo <dir>                      repository root (default: current directory)`,
  "remove-cluster": `Usage: npm run remove-cluster -- --name <name> [--branch] [--push [remote]]

Removes clusters/<name>/ (and its entries in management/sync/) and prints the supported way to delete the
cluster: delete only the Cluster object; CAPI tears the rest down in order. Argo CD and Flux never delete the
cluster's objects because a directory went away (preserveResourcesOnDeletion / deletionPolicy Orphan, and every
object is annotated Prune=false,Delete=false / prune: disabled).

Refuses (exit 1, nothing changed) when clusters/<name>/ holds uncommitted changes or untracked files, or the
repository is not a git repository, unless --force.

  --force           remove it even so (what Git does not hold is lost)
  --branch          commit the removal on branch remove-cluster/<name> (refuses with staged changes or an existing branch)
  --push [remote]   push that branch (default remote: origin); implies --branch
  --repo <dir>      repository root (default: current directory)`,
  generate: `Usage: npm run generate [-- --repo <dir>]

Regenerates base/, overlays/ (profiles and components), schemas/cluster-spec.schema.json and every
clusters/<name>/generated/ from clusters/*/cluster.yaml. Deterministic: a second run changes nothing.
Never touches clusters/<name>/cluster.yaml or clusters/<name>/kustomization.yaml. Refuses (exit 2) a folder
without capi-gitops.yaml unless --init (start a new repository there).`,
  setup: `Usage: npm run setup

Runs npm ci, then builds the Go tools pinned in versions.json with \`go install\` into .tools/bin:
${TOOLS.map(([n, t]) => `  ${n.padEnd(18)}${t.module}@${t.version}`).join("\n")}
and lays the pinned CRDs into .tools/crds (for the CEL layer of validate).
Tools already at their pinned version are skipped (--force rebuilds).`,
  validate: `Usage: npm run validate [-- [cluster...] [--format text|json|github]]

For each cluster (all by default): the spec against its JSON Schema and checks; the generated files against what
the spec generates (drift); one batched \`kustomize build\`; kubeconform -strict against schemas/kubeconform (no
network, no missing schemas allowed); kubectl-validate for the CRDs' CEL rules; and our rules (references,
webhook rules, CIDRs, zones, versions, names, secrets). Findings are grouped by cluster with file and field.

  --format text|json|github   output (github: workflow annotations); default text
  --skip-cel                  skip the kubectl-validate layer (CI never does)
  --changed-since <ref>       only the clusters affected by changes since <ref> (a change under base/ or overlays/
                              affects every cluster whose build reads it); management/ when it changed
  --shard <i>/<n>             only shard i of n (1 ≤ i ≤ n) of the clusters, for a CI matrix: a cluster's shard is
                              a stable hash of its name; shard 1 also checks what belongs to no cluster (management/,
                              shared generated files); fleet rules still compare against every cluster
  --repo <dir>                repository root (default: current directory)

Exit codes: 0 valid (warnings allowed), 1 invalid, 2 tool error.`,
  diff: `Usage: npm run diff -- --base <ref> [--format text|markdown]

Finds the clusters affected between <ref> and the working tree, renders both sides with kustomize, and prints a
per-cluster, per-object diff. Flags what the management cluster would reject or what would not roll out: a
template's spec changed under the same name, AWSCluster region or load-balancer scheme changed, a Kubernetes
version jump of more than one minor (or down), a Cluster renamed or moved to another namespace.
For a pull request use the merge base: --base "$(git merge-base origin/main HEAD)".

Exit codes: 0 (flags are findings too: 1 when any is an error), 2 tool error.`,
  schemas: `Usage: npm run schemas

Downloads the CRD modules pinned in versions.json with \`go mod download\` and writes one JSON schema per kind
and served version under schemas/kubeconform/ (unserved versions are listed in schemas/kubeconform/unserved.json).`,
};

const COMMON = {
  help: { type: "boolean", short: "h" },
  repo: { type: "string" },
} as const;

const OPTIONS: Record<string, ParseArgsConfig["options"]> = {
  "new-cluster": {
    ...COMMON,
    name: { type: "string" },
    namespace: { type: "string" },
    region: { type: "string" },
    zones: { type: "string" },
    "kubernetes-version": { type: "string" },
    profile: { type: "string" },
    workers: { type: "string" },
    "control-plane-replicas": { type: "string" },
    "control-plane-instance-type": { type: "string" },
    pool: { type: "string", multiple: true },
    "vpc-cidr": { type: "string" },
    "pod-cidr": { type: "string" },
    "service-cidr": { type: "string" },
    "ssh-key-name": { type: "string" },
    "dry-run": { type: "boolean" },
    yes: { type: "boolean", short: "y" },
    "no-render": { type: "boolean" },
    branch: { type: "boolean" },
    push: { type: "string" },
    init: { type: "boolean" },
  },
  generate: { ...COMMON, init: { type: "boolean" } },
  "remove-cluster": { ...COMMON, name: { type: "string" }, branch: { type: "boolean" }, push: { type: "string" }, force: { type: "boolean" } },
  validate: { ...COMMON, format: { type: "string" }, "skip-cel": { type: "boolean" }, "changed-since": { type: "string" }, shard: { type: "string" } },
  diff: { ...COMMON, base: { type: "string" }, format: { type: "string" } },
  setup: { ...COMMON, force: { type: "boolean" } },
  schemas: { ...COMMON },
};

/** Why a file-system call failed, in words: a missing folder on a read-only mount reports ENOENT, so look closer. */
async function describeFsError(x: NodeJS.ErrnoException): Promise<string> {
  const words: Record<string, string> = { EROFS: "read-only file system", EACCES: "permission denied", EPERM: "permission denied", ENOSPC: "disk full", EISDIR: "is a folder", ENOTDIR: "not a folder" };
  if (words[x.code ?? ""]) return `${words[x.code!]} (${x.code})`;
  for (let dir = path.dirname(x.path ?? "."); ; dir = path.dirname(dir)) {
    const ok = await access(dir, constants.F_OK).then(() => true, () => false);
    if (ok) {
      const writable = await access(dir, constants.W_OK).then(() => true, (e: NodeJS.ErrnoException) => e.code);
      return writable === true ? `${x.code}` : `${dir} is not writable (${writable === "EROFS" ? "read-only file system" : writable}); ${x.code}`;
    }
    if (dir === path.dirname(dir)) return `${x.code}`;
  }
}

// A closed pipe (`… | head`) is not an error of ours.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});

const out = (line: string): void => void process.stdout.write(`${line}\n`);
const err = (line: string): void => void process.stderr.write(`${line}\n`);

async function main(argv: string[]): Promise<void> {
  // No command is a usage error (a script that forgot it must not see success): the help goes to stderr.
  if (argv.length === 0) throw new UsageError(`no command given\n\n${HELP[""]}`);
  const [command = "help", ...raw] = argv;
  // `--push` takes an optional remote: without one (end of line or another flag next), it means origin.
  const rest = raw.flatMap((a, i) => (a === "--push" && (i === raw.length - 1 || raw[i + 1]!.startsWith("-")) ? ["--push", "origin"] : [a]));
  if (command === "help" || command === "--help" || command === "-h") return out(HELP[""]!);
  const options = OPTIONS[command];
  if (!options) throw new UsageError(`unknown command "${command}"\n\n${HELP[""]}`);
  let values: Record<string, unknown>;
  let positionals: string[];
  let tokens: NonNullable<ReturnType<typeof parseArgs>["tokens"]>;
  try {
    ({ values, positionals, tokens } = parseArgs({ args: rest, options, strict: true, allowPositionals: command === "validate", tokens: true }));
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\nSee: npm run ${command} -- --help`);
  }
  // A single-value flag given twice would silently take the last value: refuse, naming the flag.
  const seen = new Map<string, string[]>();
  for (const t of tokens) {
    if (t.kind !== "option" || options[t.name]?.type !== "string" || options[t.name]?.multiple) continue;
    seen.set(t.name, [...(seen.get(t.name) ?? []), t.value ?? ""]);
  }
  for (const [name, given] of seen)
    if (given.length > 1) throw new UsageError(`--${name} is given ${given.length} times (${given.map((v) => JSON.stringify(truncate(v))).join(", ")}); it takes one value — keep one\n\nSee: npm run ${command} -- --help`);
  if (values.help) return out(HELP[command] ?? HELP[""]!);
  const cwd = typeof values.repo === "string" ? values.repo : process.cwd();
  const s = (k: string) => values[k] as string | undefined;
  // Writers refuse a folder that is not a capi-gitops repository unless told to start one (--init).
  if ((command === "generate" || (command === "new-cluster" && !values["dry-run"])))
    await (await import("./repo/load.js")).requireRepository(cwd, Boolean(values.init));

  switch (command) {
    case "setup":
      return (await import("./commands/setup.js")).setupCommand({ log: out, force: Boolean(values.force) });
    case "remove-cluster":
      return (await import("./commands/remove-cluster.js")).removeClusterCommand({ cwd, log: out, name: s("name"), force: Boolean(values.force), branch: Boolean(values.branch) || values.push !== undefined, push: s("push") });
    case "generate":
      return void (await (await import("./commands/generate.js")).generateCommand({ cwd, log: out }));
    case "validate": {
      const { FORMATS, formatFindings } = await import("./validate/format.js");
      const format = (s("format") ?? "text") as (typeof FORMATS)[number];
      if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}`);
      const tty = Boolean(process.stderr.isTTY);
      const { parseShard, validateCommand } = await import("./commands/validate.js");
      const shard = s("shard");
      const result = await validateCommand({
        cwd,
        clusters: positionals,
        changedSince: s("changed-since"),
        shard: shard === undefined ? undefined : parseShard(shard),
        skipCel: Boolean(values["skip-cel"]),
        onProgress: tty ? (stage, done, total) => void process.stderr.write(`\r\x1b[K${stage} ${done}/${total}`) : undefined,
      });
      if (tty) process.stderr.write("\r\x1b[K");
      out(formatFindings(result.findings, format, result.summary));
      process.exitCode = result.summary.errors > 0 ? 1 : 0;
      return;
    }
    case "diff": {
      const base = s("base");
      if (!base) throw new UsageError("--base <ref> is required, e.g. --base origin/main");
      const format = s("format") ?? "text";
      if (format !== "text" && format !== "markdown") throw new UsageError("--format must be text or markdown");
      const result = await (await import("./commands/diff.js")).diffCommand({ cwd, base, format });
      out(result.output);
      process.exitCode = result.findings.some((f) => f.severity === "error") ? 1 : 0;
      return;
    }
    case "schemas":
      return void (await (await import("./commands/schemas.js")).schemasCommand({ cwd, log: out }));
    case "new-cluster": {
      const { newClusterCommand } = await import("./commands/new-cluster.js");
      await newClusterCommand({
        cwd,
        log: out,
        dryRun: Boolean(values["dry-run"]),
        render: !values["no-render"],
        branch: Boolean(values.branch) || values.push !== undefined,
        push: s("push"),
        interactive: !values.yes && Boolean(process.stdin.isTTY) && Boolean(process.stdout.isTTY),
        flags: {
          name: s("name"),
          namespace: s("namespace"),
          region: s("region"),
          zones: s("zones"),
          kubernetesVersion: s("kubernetes-version"),
          profile: s("profile"),
          workers: s("workers"),
          controlPlaneReplicas: s("control-plane-replicas"),
          controlPlaneInstanceType: s("control-plane-instance-type"),
          pool: values.pool as string[] | undefined,
          vpcCidr: s("vpc-cidr"),
          podCidr: s("pod-cidr"),
          serviceCidr: s("service-cidr"),
          sshKeyName: s("ssh-key-name"),
        },
      });
      return;
    }
  }
}

main(process.argv.slice(2)).then(
  () => {
    process.exitCode ??= 0;
  },
  (e: unknown) => {
    if (e instanceof InvalidInputError) {
      for (const f of e.findings) err(formatFinding(f));
      err(e.message);
    } else if (e instanceof ToolError || e instanceof UsageError || e instanceof CapiGitopsError) {
      err(`error: ${e.message}`);
    } else if (e && typeof e === "object" && typeof (e as NodeJS.ErrnoException).code === "string" && typeof (e as NodeJS.ErrnoException).syscall === "string") {
      // A file-system error (read-only or full disk, permissions): say what and where, no stack trace.
      const x = e as NodeJS.ErrnoException & { dest?: string };
      const rel = path.relative(process.cwd(), x.path ?? "");
      const where = rel && !rel.startsWith("..") ? rel : (x.path ?? "");
      void describeFsError(x).then((why) => {
        err(`error: cannot ${x.syscall} ${where}${x.dest ? ` → ${x.dest}` : ""}: ${why}; nothing was half-written (writes go through a temporary copy and a rename)`);
      });
      process.exitCode = 2;
      return;
    } else if (e && typeof e === "object" && "name" in e && (e as Error).name === "ExitPromptError") {
      err("cancelled; nothing was written");
      process.exitCode = 2;
      return;
    } else {
      err(`internal error: ${(e as Error)?.stack ?? String(e)}`);
      process.exitCode = 2;
      return;
    }
    process.exitCode = e.exitCode;
  },
);
