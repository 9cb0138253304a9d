/**
 * `npm run import`: a cluster made by `clusterctl generate cluster` (or a Helm chart like the seed document's) →
 * clusters/<name>/cluster.yaml plus patches in clusters/<name>/kustomization.yaml for what the spec cannot say.
 * Read (the file, clusterctl's variables) → pure mapping (import/map.ts) → the spec's own checks → the same landing
 * as new-cluster (one transaction, the landed cluster built and validated, everything rolled back on any error).
 */
import type { Context } from "../render/context.js";
import { lstat, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { InvalidInputError, messageOf } from "../core/errors.js";
import { type Finding, hasErrors } from "../core/findings.js";
import type { RuleId } from "../core/rules.js";
import { parseSpecObject, yamlErrorMessage } from "../cluster-spec/parse.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import { envsubst } from "../import/envsubst.js";
import { mapManifests, type ReportEntry } from "../import/map.js";
import { importKustomization, planImportedCluster, settleKept } from "../import/patches.js";
import { specFile } from "../plan/cluster.js";
import { clusterDir, clusterKustomizationPath, clusterSpecPath } from "../core/layout.js";
import { exists, fleetFindings, loadRepo } from "../repo/load.js";
import { inside, writeTree } from "../repo/write.js";
import { isRecord } from "../k8s/object.js";
import { kustomizeBuild } from "../tools/kustomize.js";
import { withRepoLock } from "../repo/lock.js";
import { checkedTool } from "../tools/resolve.js";
import { versions } from "../pins/versions.js";
import { parseYamlStream } from "../core/yaml.js";
import { landCluster } from "../workflows/land.js";
import { validateClusters } from "../workflows/validate.js";

/** Largest manifest file import reads: CAPA's templates with their add-on ConfigMaps are about 60 kB. */
const MAX_BYTES = 5 * 1024 * 1024;

export interface ImportCommandOptions {
  cwd: string;
  /** The run's context (cli.ts); without one, validation uses this process's environment. */
  ctx?: Context;
  /** The manifests (relative paths are resolved against `base`). */
  file?: string;
  /** Folder a relative --file is resolved against (default: cwd). */
  base?: string;
  name?: string;
  namespace?: string;
  kubernetesVersion?: string;
  /** --identity-account: the account of a static identity's credentials (the manifests do not say it). */
  identityAccount?: string;
  /**
   * The cluster's machine image when the source relies on CAPA's public images, which exist only in a few regions:
   * `--image-id` (stated for the cluster's version) or `--image-lookup-org`; replaces the source's cluster image.
   */
  imageId?: string;
  imageLookupOrg?: string;
  /** clusterctl's variables: `--var NAME=value` first, then these (the environment, as clusterctl reads it). */
  vars?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  dryRun?: boolean;
  /** Build and validate the landed cluster before it is final (default true). */
  render?: boolean;
  log: (line: string) => void;
}

export interface ImportCommandResult {
  spec: ClusterSpec;
  report: ReportEntry[];
  written: boolean;
}

/** The code of a Node error (ENOENT, EACCES, …), if it has one. */
const codeOf = (e: unknown): string | undefined => (isRecord(e) && typeof e.code === "string" ? e.code : undefined);

const flag = (f: string, message: string, rule: RuleId = "import"): Finding => ({
  path: f,
  rule,
  severity: "error",
  message,
});
const WORDS: Record<ReportEntry["action"], string> = {
  mapped: "mapped ",
  patch: "patch  ",
  dropped: "dropped",
  note: "note   ",
};

/** The report, one line per entry, grouped as mapped / kept as a patch / dropped / notes. */
export function formatReport(report: readonly ReportEntry[]): string[] {
  const order: ReportEntry["action"][] = ["mapped", "patch", "dropped", "note"];
  return order.flatMap((a) =>
    report
      .filter((r) => r.action === a)
      .map((r) => `${WORDS[a]} ${[r.source, r.field].filter(Boolean).join(" ") || "(cluster)"}: ${r.detail}`),
  );
}

/**
 * clusterctl's variables from --var NAME=value flags, --name (CLUSTER_NAME), --kubernetes-version and the environment.
 */
function variables(opts: ImportCommandOptions): { vars: Record<string, string | undefined>; findings: Finding[] } {
  const vars: Record<string, string | undefined> = { ...(opts.env ?? {}) };
  if (opts.kubernetesVersion !== undefined) vars.KUBERNETES_VERSION = opts.kubernetesVersion;
  if (opts.name !== undefined) vars.CLUSTER_NAME = opts.name;
  const findings: Finding[] = [];
  for (const v of opts.vars ?? []) {
    const [, name, value] = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(v) ?? [];
    if (name === undefined || value === undefined) findings.push(flag("--var", `"${v}" is not NAME=value`));
    else vars[name] = value;
  }
  return { vars, findings };
}

/** Reads, substitutes and parses the manifests; findings name --file and the line. */
async function readManifests(opts: ImportCommandOptions): Promise<unknown[]> {
  if (!opts.file)
    throw new InvalidInputError(
      [flag("--file", "is required: the manifests of one cluster, e.g. the output of `clusterctl generate cluster`")],
      "nothing was written",
    );
  const abs = path.resolve(opts.base ?? opts.cwd, opts.file);
  const st = await lstat(abs).catch(() => undefined);
  if (!st) throw new InvalidInputError([flag("--file", `${opts.file} does not exist`)], "nothing was written");
  if (!st.isFile() && !st.isSymbolicLink())
    throw new InvalidInputError([flag("--file", `${opts.file} is not a file`)], "nothing was written");
  let buf: Buffer;
  try {
    buf = await readFile(abs);
  } catch (e) {
    throw new InvalidInputError(
      [flag("--file", `cannot read ${opts.file}: ${codeOf(e) ?? messageOf(e)}`)],
      "nothing was written",
    );
  }
  if (buf.length > MAX_BYTES)
    throw new InvalidInputError(
      [
        flag(
          "--file",
          `${opts.file} is ${buf.length} bytes, more than the ${MAX_BYTES}-byte limit for one cluster's manifests`,
        ),
      ],
      "nothing was written",
    );
  const text = new TextDecoder("utf-8", { fatal: false }).decode(buf);
  if (text.includes("\uFFFD"))
    throw new InvalidInputError([flag("--file", `${opts.file} is not valid UTF-8`)], "nothing was written");
  const { vars, findings } = variables(opts);
  if (findings.length) throw new InvalidInputError(findings, "nothing was written");
  const sub = envsubst(text, vars);
  const docs = parseAllDocuments(sub.text, { uniqueKeys: true, prettyErrors: false });
  for (const d of Array.isArray(docs) ? docs : [docs]) {
    const e = d.errors[0];
    if (e)
      throw new InvalidInputError(
        [flag("--file", `${opts.file}: ${yamlErrorMessage(sub.text, e, "a manifest")}`)],
        "nothing was written",
      );
  }
  const out: unknown[] = [];
  for (const d of Array.isArray(docs) ? docs : [docs]) {
    try {
      const v: unknown = d.toJS({ maxAliasCount: 100 });
      if (v !== null && v !== undefined) out.push(v);
    } catch (e) {
      throw new InvalidInputError(
        [flag("--file", `${opts.file}: YAML aliases expand too much (${messageOf(e)})`)],
        "nothing was written",
      );
    }
  }
  if (!out.length)
    throw new InvalidInputError([flag("--file", `${opts.file} holds no YAML document`)], "nothing was written");
  // A variable without a value matters where the importer reads it; inside add-on payloads (ConfigMaps, Secrets,
  // which import drops) a `${…}` is often the payload's own shell or template syntax, and is left alone.
  const read = JSON.stringify(out.filter((o) => !(isRecord(o) && (o.kind === "ConfigMap" || o.kind === "Secret"))));
  const missing = sub.unresolved.filter((v) => read.includes(`\${${v}`));
  if (missing.length)
    throw new InvalidInputError(
      [
        flag(
          "--file",
          `clusterctl variables without a value: ${missing.join(", ")}; export them or pass --var NAME=value ` +
            `(CLUSTER_NAME comes from --name, KUBERNETES_VERSION from --kubernetes-version)`,
        ),
      ],
      "nothing was written",
    );
  return out;
}

/**
 * The imported cluster rendered without patches, in a temporary folder outside the repository (the plan written there
 * by the one writer, built by kustomize, removed again).
 */
async function renderDraft(spec: ClusterSpec, file: string): Promise<Record<string, unknown>[]> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "capi-gitops-import-"));
  try {
    await writeTree(tmp, planImportedCluster(spec, importKustomization([], file), { specs: [] }, versions()));
    return parseYamlStream(await kustomizeBuild(tmp, clusterDir(spec.name))).filter(isRecord);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export async function importCommand(opts: ImportCommandOptions): Promise<ImportCommandResult> {
  const docs = await readManifests(opts);
  const file = opts.file ?? "";
  const mapping = mapManifests(
    docs,
    {
      file,
      name: opts.name,
      namespace: opts.namespace,
      kubernetesVersion: opts.kubernetesVersion,
      identityAccount: opts.identityAccount,
    },
    parseYamlStream,
  );
  if (!mapping.spec || hasErrors(mapping.findings))
    throw new InvalidInputError(mapping.findings, `${file} cannot be imported; nothing was written`);
  if (opts.imageId !== undefined || opts.imageLookupOrg !== undefined) {
    const version = mapping.spec.kubernetesVersion;
    mapping.spec.image =
      opts.imageId !== undefined
        ? { id: opts.imageId, ...(typeof version === "string" ? { kubernetesVersion: version } : {}) }
        : { lookupOrg: opts.imageLookupOrg };
    mapping.report.push({
      action: "mapped",
      source: "",
      field: "image",
      detail:
        `→ image: ${JSON.stringify(mapping.spec.image)} ` +
        `(${opts.imageId !== undefined ? "--image-id" : "--image-lookup-org"})`,
    });
  }
  const parsed = parseSpecObject(mapping.spec);
  const inSpec = parsed.findings.map((f) => ({ ...f, file: `${file} → cluster.yaml` }));
  if (!parsed.spec || hasErrors(inSpec))
    throw new InvalidInputError(inSpec, `the spec imported from ${file} is invalid; nothing was written`);
  const spec = parsed.spec;

  const repo = await loadRepo(opts.cwd);
  const configProblems = repo.findings.filter((f) => f.rule === "repo-config");
  if (configProblems.length)
    throw new InvalidInputError(configProblems, "fix capi-gitops.yaml first; nothing was written");
  const dir = clusterDir(spec.name);
  const clash = async (specs: readonly ClusterSpec[], config = repo.config): Promise<Finding[]> =>
    (await exists(inside(opts.cwd, dir)))
      ? [flag("--name", `${dir} already exists; import under another name (--name)`, "cluster-exists")]
      : fleetFindings([...specs, spec], config)
          .filter((f) => f.cluster === spec.name && f.severity === "error")
          .map((f) => ({
            ...f,
            path:
              f.path === "name"
                ? "--name"
                : f.path === "namespace"
                  ? "--namespace (or the source's namespace)"
                  : f.path,
          }));
  const before = await clash(repo.specs);
  if (before.length)
    throw new InvalidInputError(before, "the imported cluster clashes with the repository; nothing was written");

  // The render without patches tells which kept fields it already has (they need no patch).
  if (opts.render !== false)
    for (const tool of ["kustomize", "kubeconform", "kubectl-validate"]) await checkedTool(tool);
  const draft = opts.render === false ? undefined : await renderDraft(spec, file);
  const settled = settleKept(spec, mapping.kept, draft);
  const kustomization = importKustomization(settled.patches, file);
  const report = [...mapping.report, ...settled.report];
  for (const line of formatReport(report)) opts.log(line);
  if (opts.dryRun) {
    for (const f of [specFile(spec), { path: clusterKustomizationPath(spec.name), content: kustomization }])
      opts.log(`# --- ${f.path}\n${f.content}`);
    opts.log(
      `# dry run: nothing was written (${clusterSpecPath(spec.name)} and kustomization.yaml, and ` +
        `generated/, would be created)`,
    );
    return { spec, report, written: false };
  }
  await withRepoLock(
    opts.cwd,
    async () => {
      const now = await loadRepo(opts.cwd);
      const again = await clash(now.specs, now.config);
      if (again.length)
        throw new InvalidInputError(again, "the imported cluster clashes with the repository; nothing was written");
      const plan = planImportedCluster(
        spec,
        kustomization,
        { specs: now.specs, config: now.config, releases: now.releases },
        versions(),
      );
      const check =
        opts.render !== false
          ? (cwd: string, cluster: string) => validateClusters({ cwd, clusters: [cluster] }, opts.ctx)
          : undefined;
      await landCluster(opts.cwd, spec, plan, check, opts.log, async () => {});
    },
    { log: opts.log },
  );
  opts.log("");
  opts.log(
    `Imported ${file} as cluster ${spec.name} (${spec.region}, ${spec.availabilityZones.join(", ")}; ` +
      `${spec.kubernetesVersion}; ${spec.workers}): ${dir}/cluster.yaml, ${dir}/kustomization.yaml ` +
      `(${settled.patches.length ? "with the patches above" : "no patches"}), ${dir}/generated/`,
  );
  opts.log(`Next: review the notes above, then commit ${dir} and management/ on a branch and open a pull request.`);
  return { spec, report, written: true };
}
