/**
 * The bad-input corpus: table-driven cases over every input surface — CLI flags, cluster.yaml, capi-gitops.yaml,
 * the user-owned overlay clusters/<name>/kustomization.yaml, and the environment (tools, git state, file system).
 * Each case runs the CLI (in-process through run(argv, io); a case that sets environment variables as a real child
 * process) on its own copy of one baseline repository and asserts: the
 * documented exit code, a message that names the flag or file and the field (in stderr; for `validate`, whose report
 * is its output, in stdout), no stack trace, and a repository byte-identical to before (files, directories, git).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
} from "node:fs";
import { chmod, lstat, mkdir, mkdtemp, readFile, rename, rm, symlink, unlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import pLimit from "p-limit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCommand } from "../src/commands/generate.js";
import { newClusterCommand } from "../src/commands/new-cluster.js";
import { BIN, ROOT, runCli, tempDir } from "./helpers.js";

const CONFIG =
  "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\n" +
  "repoURL: https://git.example.com/platform/capi-gitops.git\nbranch: main\ngitops: argocd\n";
const SPEC = "clusters/demo/cluster.yaml";
const OVERLAY = "clusters/demo/kustomization.yaml";
const STACK = /\n\s+at .+:\d+:\d+\)?|internal error/;
/** Cases at a time: each runs kustomize and kubeconform for validate (and the CLI as a process when it sets env). */
const run = pLimit(Math.max(2, Math.min(4, os.availableParallelism())));

type Surface = "flags" | "cluster.yaml" | "capi-gitops.yaml" | "overlay" | "environment";
interface Ctx {
  /** The case's repository (a copy of the baseline). */
  repo: string;
  /** A scratch folder beside it (outside the repository). */
  scratch: string;
}
type Setup = (c: Ctx) => Promise<void | (() => Promise<void>)>;
interface Case {
  surface: Surface;
  name: string;
  /** CLI arguments (command first); `--repo <repo>` is appended unless `repoFlag` is false. */
  args: string[] | ((c: Ctx) => string[]);
  repoFlag?: false;
  exit: 1 | 2;
  /** Texts that must appear in the message: the flag or file, the field, what to do. */
  says: (string | RegExp)[];
  /** Where the message is: stderr, except for validate's report (stdout). */
  stream?: "stdout" | "stderr";
  env?: (c: Ctx) => Record<string, string>;
  /** Prepares the case's repository; may return an undo step run after the repository is compared. */
  setup?: Setup;
  /** A further check after the run (e.g. nothing appeared outside the repository); returns a problem or undefined. */
  after?: (c: Ctx) => Promise<string | undefined>;
  /** A reason to skip, known after beforeAll (e.g. no way to make a folder read-only). */
  skip?: () => string | undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers for building cases

/** An add-on payload every repository carries (addons/ is copied by generate). */
const CILIUM_PAYLOAD = "addons/cilium/v1.20.2/cilium.yaml";
/** Validates the case's repository once first, so that the case runs on a warm validate cache. */
const warmCache = async (c: Ctx) => {
  const r = await runCli(["validate", "--skip-cel", "--repo", c.repo]);
  if (r.exitCode !== 0) throw new Error(`case setup: the warm-up validate exited ${r.exitCode}`);
};

const exists = (p: string) =>
  lstat(p).then(
    () => true,
    () => false,
  );
const put = (rel: string, content: string | Buffer) => async (c: Ctx) => {
  await mkdir(path.dirname(path.join(c.repo, rel)), { recursive: true });
  await writeFile(path.join(c.repo, rel), content);
};
/** Replaces `from` in a file, failing the case if it is not there (no case may silently test nothing). */
const edit = (rel: string, from: string | RegExp, to: string) => async (c: Ctx) => {
  const file = path.join(c.repo, rel);
  const text = await readFile(file, "utf8");
  const next = text.replace(from, to);
  if (next === text) throw new Error(`case setup: ${String(from)} not found in ${rel}`);
  await writeFile(file, next);
};
const all =
  (...steps: Setup[]) =>
  async (c: Ctx) => {
    const undo: (() => Promise<void>)[] = [];
    for (const s of steps) {
      const u = await s(c);
      if (u) undo.push(u);
    }
    return async () => {
      for (const u of undo.reverse()) await u();
    };
  };

// safe.directory=*: the corpus's own git reads a case's repository even when the case gives it to another owner.
const git = (cwd: string, ...args: string[]) =>
  execa(
    "git",
    [
      "-c",
      "user.name=corpus",
      "-c",
      "user.email=corpus@example.com",
      "-c",
      "commit.gpgsign=false",
      "-c",
      "safe.directory=*",
      ...args,
    ],
    { cwd },
  );
/** The case's repository as a git repository with one commit of everything. */
const gitInit =
  (opts: { commit?: boolean } = {}) =>
  async (c: Ctx) => {
    await git(c.repo, "init", "-q", "-b", "main");
    for (const [k, v] of [
      ["user.name", "corpus"],
      ["user.email", "corpus@example.com"],
      ["commit.gpgsign", "false"],
    ])
      await git(c.repo, "config", k!, v!);
    if (opts.commit === false) return;
    await git(c.repo, "add", "-A");
    await git(c.repo, "commit", "-q", "-m", "baseline");
  };
/**
 * No user.name / user.email in the repository's own config (HOME and the system config are cut off by the case's env).
 */
const noIdentity = async (c: Ctx) => {
  await git(c.repo, "config", "--unset", "user.name");
  await git(c.repo, "config", "--unset", "user.email");
};
/** A second valid cluster spec, a copy of demo's under another name and VPC CIDR (no generated files yet). */
const copySpec = (name: string) => async (c: Ctx) => {
  const text = await readFile(path.join(c.repo, SPEC), "utf8");
  const next = text
    .replace(/^name: demo$/m, `name: ${name}`)
    .replace(/^namespace: demo$/m, `namespace: ${name}`)
    .replace(/vpcCidr: \S+/, "vpcCidr: 10.77.0.0/16");
  if (!next.includes(`name: ${name}`) || !next.includes(`namespace: ${name}`) || !next.includes("10.77.0.0/16"))
    throw new Error("case setup: name, namespace or vpcCidr not found in " + SPEC);
  await mkdir(path.join(c.repo, "clusters", name));
  await writeFile(path.join(c.repo, "clusters", name, "cluster.yaml"), next);
};
/**
 * The case's repository owned by another user (nobody), as a checkout copied from elsewhere is; undone after the case.
 */
const chownRepo = (c: Ctx) => {
  execFileSync("chown", ["-R", "65534:65534", c.repo]);
  const undo = () => {
    execFileSync("chown", ["-R", `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`, c.repo]);
    return Promise.resolve();
  };
  return Promise.resolve(undo);
};
const needsRoot = () => (process.getuid?.() === 0 ? undefined : "giving the repository to another user needs root");
const stageUnrelated = async (c: Ctx) => {
  await writeFile(path.join(c.repo, "notes.txt"), "work in progress\n");
  await git(c.repo, "add", "notes.txt");
};

/** A small executable script in the case's scratch folder; returns its path through the env callback. */
const script = (name: string, body: string) => async (c: Ctx) => {
  const p = path.join(c.scratch, name);
  await writeFile(p, `#!/bin/sh\n${body}\n`);
  await chmod(p, 0o755);
};

/** How this machine can make a folder unwritable: chmod for ordinary users; a read-only bind mount for root. */
let readOnlyHow: "chmod" | "bind" | undefined;
let readOnlyWhyNot = "";
const mounts = new Set<string>();
const readOnly = (rel: string) => async (c: Ctx) => {
  const dir = path.join(c.repo, rel);
  if (readOnlyHow === "chmod") {
    await chmod(dir, 0o555);
    return async () => void (await chmod(dir, 0o755));
  }
  execFileSync("mount", ["--bind", dir, dir]);
  mounts.add(dir);
  execFileSync("mount", ["-o", "remount,bind,ro", dir]);
  return () => {
    execFileSync("umount", [dir]);
    mounts.delete(dir);
    return Promise.resolve();
  };
};
const needsReadOnly = () => (readOnlyHow ? undefined : readOnlyWhyNot);

// Cases by command.
const newCluster = (name: string, args: string[], flag: string, ...more: (string | RegExp)[]): Case => ({
  surface: "flags",
  name: `new-cluster ${name}`,
  args: ["new-cluster", ...args, "--yes"],
  exit: 1,
  says: [flag, "nothing was written", ...more],
});
const R = ["--region", "ap-northeast-2"];
const X = ["--name", "x", ...R];

const spec = (
  name: string,
  change: Setup,
  says: (string | RegExp)[],
  command: "generate" | "validate" = "generate",
): Case => ({
  surface: "cluster.yaml",
  name: `${command} with cluster.yaml ${name}`,
  setup: change,
  args: command === "validate" ? ["validate", "--skip-cel"] : ["generate"],
  exit: 1,
  stream: command === "validate" ? "stdout" : "stderr",
  says: [SPEC, ...says, ...(command === "generate" ? ["nothing was written"] : [])],
});
const specEdit = (from: string | RegExp, to: string) => edit(SPEC, from, to);
/** The baseline demo's image (its own, looked up in its account), and demo on an AMI id stated for its version. */
const OWN_IMAGE = 'image:\n  lookupOrg: "123456789012"\n';
const NO_IMAGE = specEdit(OWN_IMAGE, "");
const AMI_IMAGE = (more = "\n  kubernetesVersion: v1.34.8") =>
  specEdit(OWN_IMAGE, `image:\n  id: ami-0123456789abcdef0${more}\n`);

const config = (
  name: string,
  content: string | Buffer | Setup,
  says: (string | RegExp)[],
  command: "generate" | "validate" | "new-cluster" = "generate",
): Case => ({
  surface: "capi-gitops.yaml",
  name: `${command} with capi-gitops.yaml ${name}`,
  setup: typeof content === "function" ? content : put("capi-gitops.yaml", content),
  args:
    command === "validate"
      ? ["validate", "--skip-cel"]
      : command === "new-cluster"
        ? ["new-cluster", ...X, "--yes"]
        : ["generate"],
  exit: 1,
  stream: command === "validate" ? "stdout" : "stderr",
  says: ["capi-gitops.yaml", ...says],
});
const CFG = "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\n";

const overlay = (name: string, setup: Setup, says: (string | RegExp)[]): Case => ({
  surface: "overlay",
  name: `validate with ${name}`,
  setup,
  args: ["validate", "--skip-cel"],
  exit: 1,
  stream: "stdout",
  says,
});
/**
 * `diff --base main` after committing the baseline and adding JSON patches (kind, [op, path, value]) to the cluster's
 * overlay.
 */
type Ops = [string, string, string][];
const diffPatch = (name: string, kind: string, ops: Ops, says: (string | RegExp)[], more?: [string, Ops]): Case => ({
  surface: "overlay",
  name: `diff with ${name}`,
  setup: all(
    gitInit(),
    edit(
      OVERLAY,
      "patches: []",
      "patches:\n" +
        ([[kind, ops], ...(more ? [more] : [])] as [string, Ops][])
          .map(
            ([k, o]) =>
              `  - target:\n      kind: ${k}\n    patch: |\n` +
              `${o.map(([op, p, v]) => `      - op: ${op}\n        path: ${p}\n        value: ${v}\n`).join("")}`,
          )
          .join(""),
    ),
  ),
  args: ["diff", "--base", "main"],
  exit: 1,
  stream: "stdout",
  says,
});
/** `npm run generate` in the case's repository (after a spec or config edit). */
const regenerate = async (c: Ctx) => void (await generateCommand({ cwd: c.repo, log: () => {} }));
const kustomization = (...lines: string[]) =>
  put(OVERLAY, ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization", ...lines, ""].join("\n"));
/** Issue 20.3: a RoleBinding giving ClusterRole cluster-admin to a user, and a Deployment with extra pod-spec lines. */
const RB_CLUSTER_ADMIN =
  "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: ops\nroleRef:\n" +
  "  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n" +
  "  - kind: User\n    name: mallory\n    apiGroup: rbac.authorization.k8s.io\n";
const deployment = (name: string, podSpec: string) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n` +
  `  selector: {matchLabels: {app: ${name}}}\n  template:\n    metadata: {labels: {app: ${name}}}\n` +
  `    spec:\n      containers: [{name: x, image: example.com/x:1, securityContext: {privileged: true}}]\n` +
  `${podSpec}\n`;

/** fix-a: a JSON patch adding a privileged hostNetwork DaemonSet to the Cilium add-on's payload. */
const ADDON_PATCH = [
  "patches:",
  "  - target: {kind: ConfigMap, name: demo-addon-cilium-v1.20.2}",
  "    patch: |",
  "      - op: add",
  "        path: /data/zz-extra.yaml",
  "        value: |",
  "          apiVersion: apps/v1",
  "          kind: DaemonSet",
  "          metadata: {name: miner, namespace: kube-system}",
  "          spec:",
  "            selector: {matchLabels: {app: miner}}",
  "            template:",
  "              metadata: {labels: {app: miner}}",
  "              spec:",
  "                hostNetwork: true",
  "                containers: [{name: m, image: evil.example.com/miner:latest, securityContext: {privileged: true}}]",
];
/** fix-a: a ClusterResourceSet of the cluster layer's own, applying cluster-admin for system:anonymous to demo. */
const OWN_CRS = [
  "apiVersion: addons.cluster.x-k8s.io/v1beta2",
  "kind: ClusterResourceSet",
  "metadata: {name: pwn}",
  "spec:",
  "  clusterSelector: {matchLabels: {cluster.x-k8s.io/cluster-name: demo}}",
  "  resources: [{kind: ConfigMap, name: pwn}]",
  "---",
  "apiVersion: v1",
  "kind: ConfigMap",
  "metadata: {name: pwn}",
  "data:",
  "  crb.yaml: |",
  "    apiVersion: rbac.authorization.k8s.io/v1",
  "    kind: ClusterRoleBinding",
  "    metadata: {name: anon}",
  "    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}",
  "    subjects: [{kind: Group, name: system:anonymous, apiGroup: rbac.authorization.k8s.io}]",
  "",
].join("\n");

const ALIAS_BOMB =
  [
    "x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]",
    ..."bcdefghi".split("").map((l, i) => `x-${l}: &${l} [${Array(9).fill(`*${"abcdefghi"[i]}`).join(", ")}]`),
  ].join("\n") + "\n";

/**
 * `import` cases: the manifests (the seed's clusterctl quickstart, changed by `edit`, or given text) in the case's
 * scratch folder.
 */
const QUICKSTART = path.join(ROOT, "generator", "test", "fixtures", "import", "seed-quickstart.yaml");
/** The quickstart (with `from` replaced by `to`, failing the case if `from` is not there), or `text` as given. */
const manifest =
  (from?: string | RegExp, to = "", text?: string) =>
  async (c: Ctx) => {
    const quickstart = await readFile(QUICKSTART, "utf8");
    const out = text ?? (from === undefined ? quickstart : quickstart.replace(from, to));
    if (text === undefined && from !== undefined && out === quickstart)
      throw new Error(`case setup: ${String(from)} not found in ${QUICKSTART}`);
    await writeFile(path.join(c.scratch, "in.yaml"), out);
  };
const importCase = (
  name: string,
  setup: Setup | undefined,
  args: string[],
  says: (string | RegExp)[],
  opts: { file?: false } = {},
): Case => ({
  surface: "flags",
  name: `import ${name}`,
  setup,
  args: (c) => ["import", ...(opts.file === false ? [] : ["--file", path.join(c.scratch, "in.yaml")]), ...args],
  exit: 1,
  says: [...says, "nothing was written"],
});

// ---------------------------------------------------------------------------------------------------------------
// The corpus

const CASES: Case[] = [
  // --- CLI flags: new-cluster -----------------------------------------------------------------------------------
  newCluster("name with uppercase", ["--name", "Demo2", ...R], "--name"),
  newCluster("name with an underscore", ["--name", "my_cluster", ...R], "--name"),
  newCluster("name with unicode", ["--name", "clüster", ...R], "--name"),
  newCluster("name ..", ["--name", "..", ...R], "--name"),
  newCluster("name with a slash", ["--name", "a/b", ...R], "--name"),
  newCluster("name as an absolute path", ["--name", "/etc/cron.d", ...R], "--name"),
  newCluster("empty name", ["--name", "", ...R], "--name"),
  newCluster("name of 41 characters", ["--name", "a".repeat(41), ...R], "--name", "40"),
  newCluster("missing --name", [...R], "--name", "required"),
  newCluster("unknown region", ["--name", "x", "--region", "mars-1"], "--region", "ap-northeast-2"),
  newCluster("missing --region", ["--name", "x"], "--region", "required"),
  newCluster("zone of another region", [...X, "--zones", "us-east-1a"], "--zones", "us-east-1a"),
  newCluster("duplicate zones", [...X, "--zones", "ap-northeast-2a,ap-northeast-2a"], "--zones"),
  newCluster("malformed Kubernetes version", [...X, "--kubernetes-version", "1.34"], "--kubernetes-version", "v1.34.2"),
  newCluster("zero control-plane replicas", [...X, "--control-plane-replicas", "0"], "--control-plane-replicas"),
  newCluster("negative control-plane replicas", [...X, "--control-plane-replicas=-1"], "--control-plane-replicas"),
  {
    surface: "flags",
    name: "new-cluster negative number as a separate argument",
    args: ["new-cluster", ...X, "--control-plane-replicas", "-1", "--yes"],
    exit: 2,
    says: ["--control-plane-replicas", "--control-plane-replicas=-"],
  },
  newCluster("even control-plane replicas", [...X, "--control-plane-replicas", "2"], "--control-plane-replicas", "odd"),
  newCluster(
    "fractional control-plane replicas",
    [...X, "--control-plane-replicas", "3.5"],
    "--control-plane-replicas",
    "whole number",
  ),
  newCluster("pool min-size > max-size", [...X, "--pool", "name=a,min-size=5,max-size=2"], "--pool", "minSize"),
  newCluster("pool unknown key", [...X, "--pool", "name=a,color=red"], "--pool", "color=red"),
  newCluster("ring capi-gitops.yaml does not declare", [...X, "--ring", "canary"], "--ring", "canary", "rollout.rings"),
  newCluster("ring that is no ring name", [...X, "--ring", "Canary!"], "--ring"),
  newCluster("pool without a name", [...X, "--pool", "min-size=1"], "--pool", "name="),
  newCluster(
    "pool autoscaling=maybe",
    [...X, "--pool", "name=a,autoscaling=maybe"],
    "--pool autoscaling",
    "true or false",
  ),
  newCluster(
    "pool newer than the control plane",
    [...X, "--kubernetes-version", "v1.33.0", "--pool", "name=a,kubernetes-version=v1.34.0"],
    "--pool",
    "newer",
  ),
  newCluster("malformed VPC CIDR", [...X, "--vpc-cidr", "10.0.0.0/33"], "--vpc-cidr", "10.0.0.0/16"),
  newCluster(
    "pod CIDR overlapping the VPC",
    [...X, "--vpc-cidr", "10.0.0.0/16", "--pod-cidr", "10.0.0.0/20"],
    "--pod-cidr",
    "overlaps",
  ),
  {
    surface: "flags",
    name: "new-cluster unknown flag",
    args: ["new-cluster", ...X, "--bogus", "--yes"],
    exit: 2,
    says: ["--bogus", "--help"],
  },

  // --- CLI flags: generate, validate, remove-cluster, diff -------------------------------------------------------
  {
    surface: "flags",
    name: "generate with a flag of another command",
    args: ["generate", "--name", "x"],
    exit: 2,
    says: ["--name"],
  },
  {
    surface: "flags",
    name: "generate --repo that does not exist",
    args: (c) => ["generate", "--repo", path.join(c.scratch, "nope")],
    repoFlag: false,
    exit: 2,
    says: ["nope", /no such|does not exist|--repo/i],
    after: async (c) =>
      (await exists(path.join(c.scratch, "nope"))) ? "the missing --repo folder was created" : undefined,
  },
  {
    surface: "flags",
    name: "validate --format xml",
    args: ["validate", "--format", "xml"],
    exit: 2,
    says: ["--format", "text"],
  },
  {
    surface: "flags",
    name: "validate an unknown cluster",
    args: ["validate", "--skip-cel", "nosuch"],
    exit: 1,
    stream: "stdout",
    says: ["nosuch", "clusters/nosuch/cluster.yaml"],
  },
  {
    surface: "flags",
    name: "validate a cluster name that escapes clusters/",
    args: ["validate", "--skip-cel", "../../etc"],
    exit: 1,
    stream: "stdout",
    says: ["../../etc"],
  },
  {
    surface: "flags",
    name: "remove-cluster without --name",
    args: ["remove-cluster"],
    exit: 1,
    says: ["--name", "required", "nothing was removed"],
  },
  {
    surface: "flags",
    name: "remove-cluster --name ../../etc",
    args: ["remove-cluster", "--name", "../../etc"],
    exit: 1,
    says: ["--name", "../../etc", "nothing was removed"],
  },
  {
    surface: "flags",
    name: "remove-cluster of a cluster that does not exist",
    args: ["remove-cluster", "--name", "nosuch"],
    exit: 1,
    says: ["--name", "clusters/nosuch", "nothing was removed"],
  },
  { surface: "flags", name: "diff without --base", args: ["diff"], exit: 2, says: ["--base", "required"] },
  {
    surface: "flags",
    name: "diff --format html",
    args: ["diff", "--base", "HEAD", "--format", "html"],
    exit: 2,
    says: ["--format", "markdown"],
  },
  {
    surface: "flags",
    name: "diff --base that is no commit",
    setup: gitInit(),
    args: ["diff", "--base", "no-such-ref"],
    exit: 2,
    says: ["--base", "no-such-ref"],
  },
  {
    surface: "flags",
    name: "diff --base that looks like an option",
    setup: gitInit(),
    args: (c) => ["diff", `--base=--output=${path.join(c.scratch, "pwned")}`],
    exit: 2,
    says: ["--base"],
    after: async (c) =>
      (await exists(path.join(c.scratch, "pwned"))) ? "git took --base as an option and wrote a file" : undefined,
  },

  // --- cluster.yaml ---------------------------------------------------------------------------------------------
  spec("even control-plane replicas", specEdit("replicas: 1", "replicas: 2"), ["controlPlane.replicas", "odd"]),
  spec("replicas as a word", specEdit("replicas: 1", "replicas: three"), ["controlPlane.replicas", "integer"]),
  spec("a name that differs from its directory", specEdit("name: demo\n", "name: other\n"), ["name", "clusters/demo"]),
  spec("an unknown region", specEdit("region: ap-northeast-2", "region: mars-1"), ["region", "ap-northeast-2"]),
  spec(
    "a zone of another region",
    specEdit(/availabilityZones:\n {2}- ap-northeast-2a/, "availabilityZones:\n  - us-east-1a"),
    ["availabilityZones.0", "us-east-1a"],
  ),
  spec(
    "duplicate zones",
    specEdit(
      /availabilityZones:\n {2}- ap-northeast-2a\n {2}- ap-northeast-2b/,
      "availabilityZones:\n  - ap-northeast-2a\n  - ap-northeast-2a",
    ),
    ["availabilityZones"],
  ),
  spec("a malformed VPC CIDR", specEdit("vpcCidr: 10.0.0.0/16", "vpcCidr: 10.0.0.0/33"), ["network.vpcCidr"]),
  spec("a pod CIDR overlapping the VPC", specEdit("podCidr: 192.168.0.0/16", "podCidr: 10.0.128.0/17"), [
    "network.podCidr",
    "overlaps",
  ]),
  spec("a malformed Kubernetes version", specEdit("kubernetesVersion: v1.34.8", "kubernetesVersion: 1.34"), [
    "kubernetesVersion",
    "v1.34.2",
  ]),
  spec(
    "a pool newer than the control plane",
    specEdit("    autoscaling: true", "    kubernetesVersion: v1.35.0\n    autoscaling: true"),
    ["nodePools.0.kubernetesVersion", "newer"],
  ),
  spec("pool minSize > maxSize", specEdit("minSize: 1", "minSize: 7"), ["nodePools.0.minSize", "maxSize"]),
  spec("an unknown field", specEdit("profile: dev", "profile: dev\nprofle: prod"), ["profle", "unknown field"]),
  spec(
    "a YAML alias bomb",
    async (c) =>
      void (await writeFile(path.join(c.repo, SPEC), ALIAS_BOMB + (await readFile(path.join(c.repo, SPEC), "utf8")))),
    ["aliases"],
  ),
  spec("a duplicate key", specEdit("profile: dev\n", "profile: dev\nregion: eu-west-1\n"), [
    "region",
    /more than once|unique|duplicate/i,
    "line",
  ]),
  spec(
    "several documents",
    async (c) =>
      void (await writeFile(
        path.join(c.repo, SPEC),
        `${await readFile(path.join(c.repo, SPEC), "utf8")}---\nname: second\n`,
      )),
    ["several YAML documents"],
  ),
  spec(
    "non-UTF-8 bytes",
    async (c) => {
      const text = await readFile(path.join(c.repo, SPEC));
      await writeFile(
        path.join(c.repo, SPEC),
        Buffer.concat([text, Buffer.from("# caf"), Buffer.from([0xe9, 0xff, 0xfe]), Buffer.from("\n")]),
      );
    },
    ["UTF-8"],
  ),
  spec(
    "over the size limit",
    async (c) =>
      void (await writeFile(
        path.join(c.repo, SPEC),
        `${await readFile(path.join(c.repo, SPEC), "utf8")}` +
          `${"# padding padding padding padding padding padding padding padding\n".repeat(1200)}`,
      )),
    ["bytes", /larger|limit/],
  ),
  spec("empty", put(SPEC, ""), ["mapping"]),
  spec("tabs for indentation", specEdit("controlPlane:\n  replicas: 1", "controlPlane:\n\treplicas: 1"), [
    "YAML error",
    "line",
  ]),
  spec(
    "a symbolic link to /etc/passwd",
    async (c) => {
      await unlink(path.join(c.repo, SPEC));
      await symlink("/etc/passwd", path.join(c.repo, SPEC));
    },
    ["symbolic link"],
  ),
  spec(
    "a directory instead of a file",
    async (c) => {
      await unlink(path.join(c.repo, SPEC));
      await mkdir(path.join(c.repo, SPEC));
    },
    [/directory|not a (regular )?file/i],
  ),
  {
    surface: "cluster.yaml",
    name: "generate with a second cluster.yaml whose namespace another cluster uses",
    setup: async (c) => {
      const text = await readFile(path.join(c.repo, SPEC), "utf8");
      await put(
        "clusters/other/cluster.yaml",
        text.replace("name: demo\n", "name: other\n").replace("vpcCidr: 10.0.0.0/16", "vpcCidr: 10.1.0.0/16"),
      )(c);
    },
    args: ["generate"],
    exit: 1,
    says: ["clusters/other/cluster.yaml", "namespace", '"demo"', "nothing was written"],
  },
  spec(
    "even control-plane replicas",
    specEdit("replicas: 1", "replicas: 2"),
    ["controlPlane.replicas", "odd"],
    "validate",
  ),
  spec(
    "a duplicate key",
    specEdit("profile: dev\n", "profile: dev\nprofile: prod\n"),
    ["profile", /more than once|unique|duplicate/i],
    "validate",
  ),

  spec(
    "naming a ring capi-gitops.yaml does not declare",
    specEdit("profile: dev\n", "profile: dev\nrollout:\n  ring: canary\n"),
    ["rollout.ring", "canary", "rollout.rings: main"],
  ),
  spec(
    "naming a ring capi-gitops.yaml does not declare",
    specEdit("profile: dev\n", "profile: dev\nrollout:\n  ring: canary\n"),
    ["rollout.ring", "canary", "rollout-ring"],
    "validate",
  ),

  // --- capi-gitops.yaml -----------------------------------------------------------------------------------------
  config("with an http:// repoURL", `${CFG}repoURL: http://git.example.com/x.git\n`, ["repoURL"]),
  config("without repoURL", CFG, ["repoURL", "required"]),
  config("with an unknown GitOps engine", `${CFG}repoURL: https://git.example.com/x.git\ngitops: jenkins\n`, [
    "gitops",
    "argocd",
    "flux",
  ]),
  config("with an unknown field", `${CFG}repoURL: https://git.example.com/x.git\ngitopz: flux\n`, [
    "gitopz",
    "unknown field",
  ]),
  config("with malformed YAML", `${CFG}repoURL: [https://git.example.com/x.git\n`, ["YAML error"]),
  config(
    "with a ring declared twice",
    `${CFG}repoURL: https://git.example.com/x.git\nrollout:\n  rings:\n  - name: canary\n  - name: canary\n`,
    ["rollout.rings.1.name", "twice"],
  ),
  config(
    "with a ring maxUpdate over 100%",
    `${CFG}repoURL: https://git.example.com/x.git\nrollout:\n  rings:\n  - name: canary\n    maxUpdate: 150%\n`,
    ["rollout.rings.0.maxUpdate"],
  ),
  config("with no ring", `${CFG}repoURL: https://git.example.com/x.git\nrollout:\n  rings: []\n`, ["rollout.rings"]),
  config(
    "with a duplicate key",
    `${CFG}repoURL: https://git.example.com/x.git\nrepoURL: https://git.example.com/y.git\n`,
    ["repoURL", /more than once|unique|duplicate/i],
  ),
  config("with several documents", `${CFG}repoURL: https://git.example.com/x.git\n---\n${CFG}`, [
    "several YAML documents",
  ]),
  config("that is empty", "", [/mapping|apiVersion/]),
  config("with a YAML alias bomb", `${ALIAS_BOMB}${CFG}repoURL: https://git.example.com/x.git\n`, ["aliases"]),
  config(
    "with non-UTF-8 bytes",
    Buffer.concat([Buffer.from(`${CFG}repoURL: https://git.example.com/x.git\n# caf`), Buffer.from([0xe9, 0x0a])]),
    ["UTF-8"],
  ),
  config(
    "over the size limit",
    `${CFG}repoURL: https://git.example.com/x.git\n` +
      `${"# padding padding padding padding padding padding padding padding\n".repeat(1200)}`,
    ["bytes"],
  ),
  config(
    "that is a directory",
    async (c) => {
      await unlink(path.join(c.repo, "capi-gitops.yaml"));
      await mkdir(path.join(c.repo, "capi-gitops.yaml"));
    },
    [/directory|not a (regular )?file|cannot read/i],
  ),
  config("with an http:// repoURL", `${CFG}repoURL: http://git.example.com/x.git\n`, ["repoURL"], "validate"),
  config(
    "with an unknown GitOps engine",
    `${CFG}repoURL: https://git.example.com/x.git\ngitops: jenkins\n`,
    ["gitops", "nothing was written"],
    "new-cluster",
  ),

  // --- the user-owned overlay clusters/demo/kustomization.yaml ----------------------------------------------------
  overlay(
    "a resource path escaping the repository (../../../etc)",
    kustomization("resources:", "  - generated", "  - ../../../etc"),
    [OVERLAY, "../../../etc"],
  ),
  overlay(
    "a resource path escaping the repository into a real kustomization",
    async (c) => {
      // A kustomization beside the repository: kustomize loads directories outside the root, so we must refuse it.
      await mkdir(path.join(c.scratch, "outside"), { recursive: true });
      await writeFile(path.join(c.scratch, "outside", "kustomization.yaml"), "resources:\n  - cm.yaml\n");
      await writeFile(
        path.join(c.scratch, "outside", "cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: smuggled\n  namespace: demo\ndata:\n  a: b\n",
      );
      await kustomization(
        "resources:",
        "  - generated",
        `  - ${path.relative(path.join(c.repo, "clusters/demo"), path.join(c.scratch, "outside"))}`,
      )(c);
    },
    [OVERLAY, "outside"],
  ),
  overlay("an absolute resource path", kustomization("resources:", "  - generated", "  - /etc/passwd"), [
    OVERLAY,
    "/etc/passwd",
  ]),
  overlay("a resource file that does not exist", kustomization("resources:", "  - generated", "  - missing.yaml"), [
    OVERLAY,
    "missing.yaml",
  ]),
  overlay(
    "a patch file that does not exist",
    kustomization("resources:", "  - generated", "patches:", "  - path: replicas-patch.yaml"),
    [OVERLAY, "replicas-patch.yaml"],
  ),
  overlay(
    "malformed YAML in the overlay",
    put(OVERLAY, "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [generated\n"),
    [OVERLAY, "kustomize build failed"],
  ),
  overlay(
    "a patch that makes the control plane even",
    kustomization(
      "resources:",
      "  - generated",
      "patches:",
      "  - target: {kind: KubeadmControlPlane}",
      "    patch: |-",
      "      - op: replace",
      "        path: /spec/replicas",
      "        value: 2",
    ),
    ["KubeadmControlPlane", "spec.replicas", "even number", "clusters/demo/kustomization.yaml"],
  ),
  overlay(
    "a patch that sets an AWSCluster region named constructor",
    kustomization(
      "resources:",
      "  - generated",
      "patches:",
      "  - target: {kind: AWSCluster}",
      "    patch: |-",
      "      - op: replace",
      "        path: /spec/region",
      "        value: constructor",
    ),
    ["AWSCluster", "spec.region", "constructor"],
  ),
  overlay(
    "a patch that turns the pool zones into a string",
    kustomization(
      "resources:",
      "  - generated",
      "patches:",
      "  - target: {kind: AWSMachinePool}",
      "    patch: |-",
      "      - op: replace",
      "        path: /spec/availabilityZones",
      "        value: ap-northeast-2a",
    ),
    ["AWSMachinePool", "spec.availabilityZones"],
  ),
  overlay(
    "a Secret with data",
    all(
      put(
        "clusters/demo/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ndata:\n  key: c2VjcmV0\n",
      ),
      kustomization("resources:", "  - generated", "  - secret.yaml"),
    ),
    ["Secret/creds", "no-plaintext-secrets"],
  ),
  overlay(
    "an object in another namespace",
    all(
      put(
        "clusters/demo/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: elsewhere\n  namespace: kube-system\n",
      ),
      kustomization("resources:", "  - generated", "  - cm.yaml"),
    ),
    ["ConfigMap/elsewhere", "namespace"],
  ),
  overlay(
    "a hand-edited generated file",
    edit("clusters/demo/generated/kustomization.yaml", "namespace: demo", "namespace: demo-edited"),
    ["clusters/demo/generated/kustomization.yaml", "npm run generate"],
  ),

  // --- the environment: tools, git, file system -------------------------------------------------------------------
  {
    surface: "environment",
    name: "new-cluster with CAPI_GITOPS_KUSTOMIZE at a missing path",
    args: ["new-cluster", ...X, "--yes"],
    env: () => ({ CAPI_GITOPS_KUSTOMIZE: "/nonexistent/kustomize" }),
    exit: 2,
    says: ["CAPI_GITOPS_KUSTOMIZE", "npm run setup"],
  },
  {
    surface: "environment",
    name: "validate with CAPI_GITOPS_KUSTOMIZE at a missing path",
    args: ["validate", "--skip-cel"],
    env: () => ({ CAPI_GITOPS_KUSTOMIZE: "/nonexistent/kustomize" }),
    exit: 2,
    says: ["CAPI_GITOPS_KUSTOMIZE", "npm run setup"],
  },
  {
    surface: "environment",
    name: "validate with CAPI_GITOPS_KUBECONFORM at a missing path",
    args: ["validate", "--skip-cel"],
    env: () => ({ CAPI_GITOPS_KUBECONFORM: "/nonexistent/kubeconform" }),
    exit: 2,
    says: ["CAPI_GITOPS_KUBECONFORM", "npm run setup"],
  },
  {
    surface: "environment",
    name: "validate with CAPI_GITOPS_KUBECTL_VALIDATE at a missing path",
    args: ["validate"],
    env: () => ({ CAPI_GITOPS_KUBECTL_VALIDATE: "/nonexistent/kubectl-validate" }),
    exit: 2,
    says: ["CAPI_GITOPS_KUBECTL_VALIDATE", "npm run setup"],
  },
  {
    surface: "environment",
    name: "validate with CAPI_GITOPS_CAPI_GITOPS_HEALTH at a missing path",
    args: ["validate", "--skip-cel"],
    env: () => ({ CAPI_GITOPS_CAPI_GITOPS_HEALTH: "/nonexistent/capi-gitops-health" }),
    exit: 2,
    says: ["CAPI_GITOPS_CAPI_GITOPS_HEALTH", "npm run setup"],
  },
  {
    surface: "environment",
    name: "validate with CAPI_GITOPS_KUBECONFORM at a file that is not executable",
    setup: async (c) => void (await writeFile(path.join(c.scratch, "kubeconform"), "not a program\n")),
    args: ["validate", "--skip-cel"],
    env: (c) => ({ CAPI_GITOPS_KUBECONFORM: path.join(c.scratch, "kubeconform") }),
    exit: 2,
    says: ["CAPI_GITOPS_KUBECONFORM", "not an executable"],
  },
  {
    surface: "environment",
    name: "validate with a kubeconform of another version",
    setup: script(
      "kubeconform",
      'case "$1" in -v|--version|version) echo "v0.6.1"; exit 0;; esac\necho "v0.6.1"\nexit 0',
    ),
    args: ["validate", "--skip-cel"],
    env: (c) => ({ CAPI_GITOPS_KUBECONFORM: path.join(c.scratch, "kubeconform") }),
    exit: 2,
    says: ["kubeconform", "v0.7.0"],
  },
  {
    surface: "environment",
    name: "validate with a kubeconform that crashes",
    // Answers the version probe like the pinned release, then crashes on the real work.
    setup: script(
      "kubeconform",
      'case "$1" in -v|--version|version) echo "v0.7.0"; exit 0;; esac\n' +
        'echo "fatal error: unexpected signal during runtime execution" >&2\nexit 2',
    ),
    args: ["validate", "--skip-cel"],
    env: (c) => ({ CAPI_GITOPS_KUBECONFORM: path.join(c.scratch, "kubeconform") }),
    exit: 2,
    says: ["kubeconform", "unexpected signal"],
  },
  {
    surface: "environment",
    name: "new-cluster with a kustomize of another version",
    setup: script("kustomize", 'case "$1" in version) echo "v4.5.7"; exit 0;; esac\necho "v4.5.7"\nexit 0'),
    args: ["new-cluster", ...X, "--yes"],
    env: (c) => ({ CAPI_GITOPS_KUSTOMIZE: path.join(c.scratch, "kustomize") }),
    exit: 2,
    says: ["kustomize", "v5.8.1"],
  },
  {
    surface: "environment",
    name: "new-cluster --branch with git missing from PATH",
    setup: gitInit(),
    args: ["new-cluster", ...X, "--branch", "--yes"],
    env: () => ({ PATH: "" }),
    exit: 2,
    says: ["git", /not installed|not found/],
  },
  {
    surface: "environment",
    name: "new-cluster --branch outside a git repository",
    args: ["new-cluster", ...X, "--branch", "--yes"],
    exit: 1,
    says: ["--branch", "not a git repository", "nothing was written"],
  },
  {
    surface: "environment",
    name: "new-cluster --branch with unrelated staged changes",
    setup: all(gitInit(), stageUnrelated),
    args: ["new-cluster", ...X, "--branch", "--yes"],
    exit: 1,
    says: ["--branch", "notes.txt", "nothing was written"],
  },
  {
    surface: "environment",
    name: "remove-cluster --branch with unrelated staged changes",
    setup: all(gitInit(), stageUnrelated),
    args: ["remove-cluster", "--name", "demo", "--branch"],
    exit: 1,
    says: ["--branch", "notes.txt", "nothing was written"],
  },
  {
    surface: "environment",
    name: "new-cluster --branch in a repository without commits",
    setup: gitInit({ commit: false }),
    args: ["new-cluster", ...X, "--branch", "--yes"],
    exit: 1,
    says: ["--branch", "commit", "nothing was written"],
  },
  {
    surface: "environment",
    name: "new-cluster --branch when the branch exists",
    setup: all(gitInit(), async (c) => void (await git(c.repo, "branch", "cluster/x"))),
    args: ["new-cluster", ...X, "--branch", "--yes"],
    exit: 1,
    says: ["--branch", "cluster/x", "already exists"],
  },
  {
    surface: "environment",
    name: "new-cluster --push to a remote that does not exist",
    setup: gitInit(),
    args: ["new-cluster", ...X, "--push", "upstream", "--yes"],
    exit: 1,
    says: ["--push", "upstream"],
  },
  {
    surface: "environment",
    name: "diff outside a git repository",
    args: ["diff", "--base", "main"],
    exit: 2,
    says: ["git repository"],
  },
  {
    surface: "environment",
    name: "validate --changed-since outside a git repository",
    args: ["validate", "--skip-cel", "--changed-since", "main"],
    exit: 2,
    says: ["--changed-since", "git repository"],
  },
  {
    surface: "environment",
    name: "validate --changed-since a ref that does not exist",
    setup: gitInit(),
    args: ["validate", "--skip-cel", "--changed-since", "no-such-ref"],
    exit: 2,
    says: ["--changed-since", "no-such-ref"],
  },
  {
    surface: "environment",
    name: "new-cluster into a read-only clusters/",
    setup: readOnly("clusters"),
    skip: needsReadOnly,
    args: ["new-cluster", ...X, "--yes"],
    exit: 2,
    says: ["clusters", /read-only|not writable|permission/i],
  },
  {
    surface: "environment",
    name: "generate into a read-only clusters/",
    setup: all(
      specEdit("instanceType: t3.large\nnodePools", "instanceType: m6i.large\nnodePools"),
      readOnly("clusters"),
    ),
    skip: needsReadOnly,
    args: ["generate"],
    exit: 2,
    says: ["clusters/demo", /read-only|not writable|permission/i],
  },
  // issue 9 — day-2 diff and CIDR sizes (items 8, 13)
  newCluster("9.13: pod CIDR smaller than a node's /24", [...X, "--pod-cidr", "192.168.0.0/30"], "--pod-cidr", "/24"),
  newCluster(
    "9.13: service CIDR larger than v1.33's kube-apiserver accepts",
    [...X, "--kubernetes-version", "v1.33.4", "--service-cidr", "172.0.0.0/8"],
    "--service-cidr",
    "/12",
  ),
  spec("9.13: a pod CIDR of /30", specEdit("podCidr: 192.168.0.0/16", "podCidr: 192.168.0.0/30"), [
    "network.podCidr",
    "/24",
  ]),
  spec(
    "9.13: a service CIDR of /30",
    specEdit("serviceCidr: 10.96.0.0/12", "serviceCidr: 10.96.0.0/30"),
    ["network.serviceCidr", "8 addresses"],
    "validate",
  ),
  diffPatch(
    "9.8: an overlay patch moving a live subnet's CIDR",
    "AWSCluster",
    [["replace", "/spec/network/subnets/0/cidrBlock", "10.0.64.0/20"]],
    ["subnet-cidr-changed", "demo-subnet-private-ap-northeast-2a", "10.0.0.0/20", OVERLAY],
  ),
  diffPatch(
    "9.10: an overlay patch changing the VPC CIDR",
    "AWSCluster",
    [["replace", "/spec/network/vpc/cidrBlock", "10.1.0.0/16"]],
    ["vpc-cidr-changed", "network.vpcCidr", "10.0.0.0/16"],
  ),
  diffPatch(
    "9.12: control plane and MachinePool upgraded one minor in one change",
    "KubeadmControlPlane",
    [["replace", "/spec/version", "v1.35.0"]],
    ["pool-upgraded-with-control-plane", "nodePools[].kubernetesVersion"],
    ["MachinePool", [["replace", "/spec/template/spec/version", "v1.35.0"]]],
  ),
  // issue 9 — sync
  config("with credentials in repoURL (9.6)", `${CFG}repoURL: https://deploy:ghp_secret123@git.example.com/x.git\n`, [
    "repoURL",
    "credentials",
    "secretRef",
  ]),
  config(
    "with credentials in repoURL (9.6)",
    `${CFG}repoURL: https://deploy:ghp_secret123@git.example.com/x.git\n`,
    ["repoURL", "credentials"],
    "validate",
  ),
  config(
    "with argocd.project default (9.5)",
    `${CFG}repoURL: https://git.example.com/x.git\nargocd:\n  project: default\n`,
    ["argocd.project", "built-in project"],
  ),
  newCluster("--namespace kube-system (9.4)", [...X, "--namespace", "kube-system"], "--namespace", "reserved"),
  newCluster("--namespace capa-system (9.4)", [...X, "--namespace", "capa-system"], "--namespace", "reserved"),
  newCluster("--namespace argocd (9.4)", [...X, "--namespace", "argocd"], "--namespace", "reserved"),
  spec(
    "a reserved namespace (9.4)",
    specEdit("namespace: demo\n", "namespace: flux-system\n"),
    ["namespace", "reserved"],
    "validate",
  ),
  overlay(
    "a directory under clusters/ without cluster.yaml (9.2)",
    all(
      put("clusters/raw/kustomization.yaml", "resources:\n  - cm.yaml\n"),
      put("clusters/raw/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: raw\n"),
    ),
    ["clusters/raw/", "cluster.yaml", "cluster-dir-unvalidated"],
  ),
  overlay("a cluster whose cluster.yaml was removed (9.2)", async (c) => void (await unlink(path.join(c.repo, SPEC))), [
    "clusters/demo/",
    "cluster.yaml",
    "cluster-dir-unvalidated",
  ]),
  {
    surface: "overlay",
    name: "generate with a directory under clusters/ without cluster.yaml (9.2)",
    setup: put("clusters/raw/kustomization.yaml", "resources: []\n"),
    args: ["generate"],
    exit: 1,
    says: ["clusters/raw/", "cluster.yaml", "nothing was written"],
  },

  // issue 9 — messages (item 23)
  spec("a VPC CIDR with leading zeros", specEdit("vpcCidr: 10.0.0.0/16", "vpcCidr: 010.000.0.0/16"), [
    "network.vpcCidr",
    "leading zeros",
    "10.0.0.0/16",
  ]),
  spec(
    "a YAML merge key",
    specEdit("profile: dev\n", "profile: dev\nx-net: &net\n  vpcCidr: 10.0.0.0/16\nextra:\n  <<: *net\n"),
    ["<<", "not supported", "write the fields out"],
  ),
  spec(
    "labels longer than the kubelet argument allows",
    specEdit(
      "    labels: {}",
      `    labels:\n${Array.from({ length: 20 }, (_, i) => `      example.com/l${i}: ${"v".repeat(60)}`).join("\n")}`,
    ),
    ["nodePools.0.labels", "node-labels", "1024"],
  ),
  spec("a 10,000-character region", specEdit("region: ap-northeast-2", `region: ${"x".repeat(10_000)}`), [
    "region",
    "…(10000 characters)",
  ]),
  spec(
    "even replicas beside a hand-edited generated file",
    all(
      specEdit("replicas: 1", "replicas: 2"),
      edit("clusters/demo/generated/kustomization.yaml", "namespace: demo", "namespace: demo-edited"),
    ),
    ["controlPlane.replicas", "fix clusters/demo/cluster.yaml first"],
    "validate",
  ),
  {
    surface: "flags",
    name: "new-cluster --name given twice",
    args: ["new-cluster", "--name", "a", "--name", "b", ...R, "--yes"],
    exit: 2,
    says: ["--name", "given 2 times", "keep one"],
  },
  {
    surface: "flags",
    name: "validate --format given twice",
    args: ["validate", "--format", "json", "--format", "text"],
    exit: 2,
    says: ["--format", "given 2 times"],
  },
  { surface: "flags", name: "no command", args: [], repoFlag: false, exit: 2, says: ["no command given", "Commands:"] },
  overlay(
    "a kustomization.yaml that is a symbolic link into another folder",
    async (c) => {
      await put(
        "overlays/demo-shared/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n" +
          "  - ../../clusters/demo/generated\n",
      )(c);
      await unlink(path.join(c.repo, OVERLAY));
      await symlink("../../overlays/demo-shared/kustomization.yaml", path.join(c.repo, OVERLAY));
    },
    [OVERLAY, "symbolic link to ../../overlays/demo-shared/kustomization.yaml", "replace it with a regular file"],
  ),
  {
    surface: "environment",
    name: "remove-cluster in a read-only clusters/",
    setup: readOnly("clusters"),
    skip: needsReadOnly,
    args: ["remove-cluster", "--name", "demo", "--force"],
    exit: 2,
    says: ["clusters", /read-only|not writable|permission/i],
  },
  // issue 9 — writes
  {
    surface: "environment",
    name: "16: new-cluster with a read-only management/",
    setup: readOnly("management"),
    skip: needsReadOnly,
    args: ["new-cluster", ...X, "--yes", "--no-render"],
    exit: 2,
    says: ["management", /read-only|not writable|permission/i],
  },
  {
    surface: "environment",
    name: "16: generate with a read-only management/ while clusters change",
    setup: all(
      specEdit("instanceType: t3.large\nnodePools", "instanceType: m6i.large\nnodePools"),
      copySpec("extra"),
      readOnly("management"),
    ),
    skip: needsReadOnly,
    args: ["generate"],
    exit: 2,
    says: ["management", /read-only|not writable|permission/i],
  },
  {
    surface: "environment",
    name: "17: new-cluster --branch without a git identity",
    setup: all(gitInit(), noIdentity),
    env: (c) => ({ HOME: c.scratch, XDG_CONFIG_HOME: c.scratch, GIT_CONFIG_NOSYSTEM: "1" }),
    args: ["new-cluster", ...X, "--branch", "--yes"],
    exit: 1,
    says: ["--branch", "identity", "git config user.name", "nothing was written"],
  },
  {
    surface: "environment",
    name: "17: new-cluster --branch whose git commit fails (pre-commit hook)",
    setup: all(
      gitInit(),
      put(".git/hooks/pre-commit", "#!/bin/sh\necho 'hook says no' >&2\nexit 1\n"),
      async (c) => void (await chmod(path.join(c.repo, ".git/hooks/pre-commit"), 0o755)),
    ),
    args: ["new-cluster", ...X, "--branch", "--yes", "--no-render"],
    exit: 2,
    says: ["commit", "hook says no"],
  },
  {
    surface: "environment",
    name: "18: generate with an empty lock file",
    setup: put(".capi-gitops.lock", ""),
    args: ["generate"],
    exit: 2,
    says: [".capi-gitops.lock", "empty", "if no capi-gitops command is running, remove it: rm "],
  },
  {
    surface: "environment",
    name: "18: new-cluster with a lock from another host",
    setup: put(".capi-gitops.lock", `4242 build-host-7 ${Date.now() - 3_600_000} abcd\n`),
    args: ["new-cluster", ...X, "--yes", "--no-render"],
    exit: 2,
    says: ["pid 4242 on build-host-7", "another machine", "rm "],
  },
  {
    surface: "environment",
    name: "19: remove-cluster with an untracked file in the cluster folder",
    setup: all(gitInit(), put("clusters/demo/notes.txt", "mine\n")),
    args: ["remove-cluster", "--name", "demo"],
    exit: 1,
    says: ["clusters/demo", "notes.txt", "--force", "nothing was removed"],
  },
  {
    surface: "environment",
    name: "19: remove-cluster outside a git repository without --force",
    args: ["remove-cluster", "--name", "demo"],
    exit: 1,
    says: ["not a git repository", "--force", "nothing was removed"],
  },
  {
    surface: "environment",
    name: "19: validate with an unknown file in generated/",
    setup: put("clusters/demo/generated/notes.yaml", "# mine\n"),
    args: ["validate", "--skip-cel", "demo"],
    exit: 1,
    stream: "stdout",
    says: ["clusters/demo/generated/notes.yaml", "generated-unknown-file", "npm run generate` deletes it"],
  },
  {
    surface: "environment",
    name: "20: generate in a folder without capi-gitops.yaml",
    setup: async (c) => void (await unlink(path.join(c.repo, "capi-gitops.yaml"))),
    args: ["generate"],
    exit: 2,
    says: ["no capi-gitops.yaml", "--repo", "--init"],
  },
  {
    surface: "environment",
    name: "20: new-cluster in a folder without capi-gitops.yaml",
    setup: async (c) => void (await unlink(path.join(c.repo, "capi-gitops.yaml"))),
    args: ["new-cluster", ...X, "--yes", "--no-render"],
    exit: 2,
    says: ["no capi-gitops.yaml", "--init"],
  },
  {
    surface: "environment",
    name: "20: generate with clusters/ unreadable (a symbolic link loop)",
    setup: async (c) => {
      await rename(path.join(c.repo, "clusters"), path.join(c.repo, "clusters.away"));
      await symlink("clusters", path.join(c.repo, "clusters"));
    },
    args: ["generate"],
    exit: 2,
    says: ["cannot read", "clusters", "ELOOP"],
  }, // issue 14 — upgrade and inventory (demo: ap-northeast-2, v1.34.8, CAPA's public images, none published there)
  {
    surface: "flags",
    name: "14: upgrade two minors at once",
    args: ["upgrade", "--name", "demo", "--to", "v1.36.0"],
    exit: 1,
    says: [
      "clusters/demo/cluster.yaml --to",
      "one minor at a time",
      "v1.34.8 → v1.35.x → v1.36.0",
      "nothing was written",
    ],
  },
  {
    surface: "flags",
    name: "14: upgrade to a version without a published image in the region",
    setup: NO_IMAGE,
    args: ["upgrade", "--name", "demo", "--to", "v1.35.0"],
    exit: 1,
    says: ["--to", "ap-northeast-2", "set `image`", "upgrade-image", "nothing was written"],
  },
  {
    surface: "flags",
    name: "14: upgrade --to an older version",
    args: ["upgrade", "--name", "demo", "--to", "v1.33.4"],
    exit: 1,
    says: ["--to", "does not downgrade", "nothing was written"],
  },
  {
    surface: "flags",
    name: "14: upgrade --to a malformed version",
    args: ["upgrade", "--name", "demo", "--to", "1.35"],
    exit: 1,
    says: ["--to", "not a Kubernetes version like v1.34.2"],
  },
  {
    surface: "flags",
    name: "14: upgrade --to outside the supported range",
    args: ["upgrade", "--name", "demo", "--to", "v1.37.0"],
    exit: 1,
    says: ["--to", "v1.30–v1.36"],
  },
  {
    surface: "flags",
    name: "14: upgrade an unknown cluster",
    args: ["upgrade", "--name", "nosuch", "--to", "v1.35.0"],
    exit: 1,
    says: ["--name", "nosuch", "nothing was written"],
  },
  {
    surface: "flags",
    name: "14: upgrade without --name or --all",
    args: ["upgrade", "--to", "v1.35.0"],
    exit: 2,
    says: ["--name", "--all"],
  },
  {
    surface: "flags",
    name: "14: upgrade with both --name and --all",
    args: ["upgrade", "--name", "demo", "--all"],
    exit: 2,
    says: ["--name", "--all", "exactly one"],
  },
  {
    surface: "flags",
    name: "14: upgrade --all two minors at once",
    args: ["upgrade", "--all", "--to", "v1.36.0"],
    exit: 1,
    says: ["refused", "upgrade-one-minor", "nothing was written"],
  },
  {
    surface: "flags",
    name: "14: inventory --format yaml",
    args: ["inventory", "--format", "yaml"],
    exit: 2,
    says: ["--format", "text, markdown, json"],
  },
  {
    surface: "cluster.yaml",
    name: "14: upgrade a cluster whose cluster.yaml is invalid",
    setup: specEdit("replicas: 1", "replicas: 2"),
    args: ["upgrade", "--name", "demo", "--to", "v1.35.0"],
    exit: 1,
    says: [SPEC, "controlPlane.replicas", "nothing was written"],
  },
  {
    surface: "cluster.yaml",
    name: "14: inventory with a cluster.yaml that does not load",
    setup: specEdit("region: ap-northeast-2", "region: mars-1"),
    args: ["inventory", "--no-validate"],
    exit: 1,
    stream: "stdout",
    says: ["demo", "does not load", SPEC, "region"],
  },
  {
    surface: "environment",
    name: "14: upgrade --branch with unrelated staged changes",
    setup: all(AMI_IMAGE(), gitInit(), stageUnrelated),
    args: ["upgrade", "--name", "demo", "--to", "v1.35.0", "--image-id", "ami-0fedcba9876543210", "--branch"],
    exit: 1,
    says: ["--branch", "notes.txt", "nothing was written"],
  },
  {
    surface: "environment",
    name: "14: upgrade into a read-only cluster folder",
    setup: all(AMI_IMAGE(), readOnly("clusters/demo")),
    skip: needsReadOnly,
    args: ["upgrade", "--name", "demo", "--to", "v1.35.0", "--image-id", "ami-0fedcba9876543210"],
    exit: 2,
    says: ["clusters/demo", /read-only|not writable|permission/i],
  },
  // issue 14 — import (the manifests are written to the case's scratch folder, outside the repository)
  importCase("without --file", undefined, [], ["--file", "required"], { file: false }),
  importCase("of a file that does not exist", undefined, [], ["--file", "does not exist"]),
  importCase(
    "of a v1.23 cluster without --kubernetes-version",
    manifest(),
    [],
    ["v1.23.3 is outside", "--kubernetes-version"],
  ),
  importCase(
    "with a malformed --kubernetes-version",
    manifest(),
    ["--kubernetes-version", "1.34"],
    ["--kubernetes-version", "v1.34.2"],
  ),
  importCase(
    "of malformed YAML",
    manifest(undefined, "", "apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata: [oops\n"),
    [],
    ["--file", "YAML error", "line"],
  ),
  importCase(
    "of a file without a Cluster",
    manifest(/^apiVersion: cluster\.x-k8s\.io\/v1beta1\nkind: Cluster\n/m, "apiVersion: v1\nkind: ConfigMap\n"),
    ["--kubernetes-version", "v1.34.2"],
    ["no Cluster"],
  ),
  importCase(
    "under an invalid --name",
    manifest(),
    ["--kubernetes-version", "v1.34.2", "--name", "Demo_2"],
    ["name", "lowercase letters"],
  ),
  importCase(
    "under the name of an existing cluster",
    manifest(),
    ["--kubernetes-version", "v1.34.2", "--name", "demo"],
    ["--name", "clusters/demo already exists"],
  ),
  importCase(
    "of an IPv6 cluster",
    manifest("- 192.168.0.0/16", "- fd01::/48"),
    ["--kubernetes-version", "v1.34.2"],
    ["spec.clusterNetwork.pods.cidrBlocks", "IPv6"],
  ),
  importCase(
    "of even control-plane replicas",
    manifest("replicas: 3\n  version", "replicas: 2\n  version"),
    ["--kubernetes-version", "v1.34.2"],
    ["controlPlane.replicas", "odd"],
  ),
  importCase(
    "of a raw template with a variable left unset",
    manifest("region: us-east-1", "region: ${CAPI_GITOPS_CORPUS_UNSET}"),
    ["--kubernetes-version", "v1.34.2"],
    ["CAPI_GITOPS_CORPUS_UNSET", "--var NAME=value"],
  ),
  importCase(
    "with --var without a value",
    manifest(),
    ["--kubernetes-version", "v1.34.2", "--var", "AWS_REGION"],
    ["--var", "NAME=value"],
  ),
  {
    ...importCase(
      "in a folder without capi-gitops.yaml",
      all(manifest(), async (c) => void (await unlink(path.join(c.repo, "capi-gitops.yaml")))),
      ["--kubernetes-version", "v1.34.2"],
      ["no capi-gitops.yaml", "--init"],
    ),
    surface: "environment",
    exit: 2,
    says: ["no capi-gitops.yaml", "--init"],
  },
  // --- h-addons: issue 20 item 1 ---
  // A hand-edited add-on payload is named by the addons-integrity rule (addons.lock.json), cold cache or warm.
  {
    surface: "environment",
    name: "20.1: validate with a hand-edited add-on payload (cold cache)",
    setup: edit(CILIUM_PAYLOAD, "quay.io/cilium/cilium:v1.20.2", "evil.example.com/cilium:latest"),
    args: ["validate", "--skip-cel"],
    exit: 1,
    stream: "stdout",
    says: [CILIUM_PAYLOAD, "addons-integrity", "addons.lock.json", "npm run addons"],
  },
  {
    surface: "environment",
    name: "20.1: validate with a hand-edited add-on payload (warm cache)",
    setup: all(warmCache, edit(CILIUM_PAYLOAD, "quay.io/cilium/cilium:v1.20.2", "evil.example.com/cilium:latest")),
    args: ["validate", "--skip-cel"],
    exit: 1,
    stream: "stdout",
    says: [CILIUM_PAYLOAD, "addons-integrity", "addons.lock.json"],
  },
  {
    surface: "environment",
    name: "20.1: validate with a file added under addons/",
    setup: put("addons/cilium/v1.20.2/extra.yaml", "kind: ConfigMap\n"),
    args: ["validate", "--skip-cel"],
    exit: 1,
    stream: "stdout",
    says: ["addons/cilium/v1.20.2/extra.yaml", "addons-integrity", "does not pin"],
  },
  {
    surface: "environment",
    name: "20.1: validate --changed-since with an edited payload no cluster uses",
    setup: all(
      gitInit(),
      edit(
        "addons/aws-ccm/v1.30.10/aws-ccm.yaml",
        "cloud-controller-manager:v1.30.10",
        "cloud-controller-manager:latest",
      ),
    ),
    args: ["validate", "--skip-cel", "--changed-since", "main"],
    exit: 1,
    stream: "stdout",
    says: ["addons/aws-ccm/v1.30.10/aws-ccm.yaml", "addons-integrity"],
  },
  // --- h-pools: issue 24 items 2, 4, 5 (spot and mixed pools, taints, GPU pools) ---
  newCluster(
    "24: a pool taint with an unknown effect",
    [...X, "--pool", "name=a,taints=k=v:NoRun"],
    "--pool",
    "nodePools.0.taints.0.effect",
    "NoSchedule, PreferNoSchedule, NoExecute",
  ),
  newCluster(
    "24: a pool taint key that is no qualified name",
    [...X, "--pool", "name=a,taints=bad key=v:NoSchedule"],
    "--pool",
    "nodePools.0.taints.0.key",
    "taint key",
  ),
  newCluster(
    "24: a taint without its effect",
    [...X, "--pool", "name=a,taints=dedicated"],
    "--pool taints",
    "key[=value]:Effect",
  ),
  newCluster(
    "24: a mixed pool of MachineDeployments",
    [...X, "--pool", "name=a,capacity-type=mixed,on-demand-percentage=20"],
    "--pool",
    "nodePools.0.capacityType",
    "workers: MachinePool",
  ),
  newCluster(
    "24: a spot price that is no price",
    [...X, "--pool", "name=a,capacity-type=spot,spot-max-price=cheap"],
    "--pool",
    "nodePools.0.spotMaxPrice",
    "USD",
  ),
  spec("24: a spot price on an on-demand pool", specEdit("    labels: {}", '    labels: {}\n    spotMaxPrice: "0.1"'), [
    "nodePools.0.spotMaxPrice",
    "capacityType: spot",
  ]),
  spec(
    "24: one taint given twice",
    specEdit(
      "    labels: {}",
      "    labels: {}\n    taints:\n      - {key: k, value: a, effect: NoSchedule}\n" +
        "      - {key: k, value: b, effect: NoSchedule}",
    ),
    ["nodePools.0.taints.1.effect", "given twice"],
  ),
  // --- h-userlayer: issue 20 item 3 ---
  overlay(
    "20.3: a RoleBinding giving cluster-admin to a user",
    all(put("clusters/demo/rb.yaml", RB_CLUSTER_ADMIN), kustomization("resources:", "  - generated", "  - rb.yaml")),
    ["clusters/demo/rb.yaml", "RoleBinding/ops:roleRef", "user-layer-rbac", "cluster-admin"],
  ),
  overlay(
    "20.3: a ClusterRoleBinding",
    all(
      put("clusters/demo/crb.yaml", RB_CLUSTER_ADMIN.replace("kind: RoleBinding", "kind: ClusterRoleBinding")),
      kustomization("resources:", "  - generated", "  - crb.yaml"),
    ),
    ["clusters/demo/crb.yaml", "ClusterRoleBinding/ops:roleRef", "user-layer-rbac"],
  ),
  overlay(
    "20.3: a patch pointing the autoscaler's RoleBinding at cluster-admin",
    kustomization(
      "resources:",
      "  - generated",
      "patches:",
      "  - target: {kind: RoleBinding, name: demo-cluster-autoscaler}",
      "    patch: |-",
      "      - op: replace",
      "        path: /roleRef/name",
      "        value: cluster-admin",
      "      - op: replace",
      "        path: /roleRef/kind",
      "        value: ClusterRole",
    ),
    [OVERLAY, "RoleBinding/demo-cluster-autoscaler:roleRef", "user-layer-rbac"],
  ),
  overlay(
    "20.3: a patch adding Secrets to the autoscaler's Role",
    kustomization(
      "resources:",
      "  - generated",
      "patches:",
      "  - target: {kind: Role, name: demo-cluster-autoscaler}",
      "    patch: |-",
      "      - op: add",
      "        path: /rules/-",
      '        value: {apiGroups: [""], resources: [secrets], verbs: [get]}',
    ),
    [OVERLAY, "Role/demo-cluster-autoscaler:rules", "user-layer-rbac"],
  ),
  overlay(
    "20.3: a Deployment mounting the cluster's kubeconfig Secret",
    all(
      put(
        "clusters/demo/exfil.yaml",
        deployment("exfil", "      volumes: [{name: k, secret: {secretName: demo-kubeconfig}}]"),
      ),
      kustomization("resources:", "  - generated", "  - exfil.yaml"),
    ),
    [
      "clusters/demo/exfil.yaml",
      "Deployment/exfil:spec.template.spec.volumes.0.secret.secretName",
      "user-layer-secret",
    ],
  ),
  overlay(
    "20.3: a sidecar beside the autoscaler's kubeconfig mount",
    kustomization(
      "resources:",
      "  - generated",
      "patches:",
      "  - target: {kind: Deployment, name: demo-cluster-autoscaler}",
      "    patch: |-",
      "      - op: add",
      "        path: /spec/template/spec/containers/-",
      "        value: {name: side, image: evil.example.com/x:1}",
    ),
    [
      "Deployment/demo-cluster-autoscaler:spec.template.spec.volumes.0.secret.secretName",
      "evil.example.com/x:1",
      "user-layer-secret",
    ],
  ),
  overlay(
    "20.3: a new ServiceAccount",
    all(
      put("clusters/demo/sa.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: helper\n"),
      kustomization("resources:", "  - generated", "  - sa.yaml"),
    ),
    ["clusters/demo/sa.yaml", "ServiceAccount/helper:metadata.name", "user-layer-serviceaccount"],
  ),
  overlay(
    "20.3: a Deployment running as the autoscaler's ServiceAccount",
    all(
      put("clusters/demo/borrow.yaml", deployment("borrow", "      serviceAccountName: demo-cluster-autoscaler")),
      kustomization("resources:", "  - generated", "  - borrow.yaml"),
    ),
    [
      "clusters/demo/borrow.yaml",
      "Deployment/borrow:spec.template.spec.serviceAccountName",
      "user-layer-serviceaccount",
    ],
  ),
  overlay(
    "20.3: a privileged Deployment with the node's root file system",
    all(
      put("clusters/demo/node.yaml", deployment("node", "      volumes: [{name: root, hostPath: {path: /}}]")),
      kustomization("resources:", "  - generated", "  - node.yaml"),
    ),
    ["clusters/demo/node.yaml", "Deployment/node:spec.template.spec.volumes.0.hostPath", "user-layer-host"],
  ),
  {
    surface: "overlay",
    name: "20.3: diff with a RoleBinding giving cluster-admin to a user",
    setup: all(
      gitInit(),
      put("clusters/demo/rb.yaml", RB_CLUSTER_ADMIN),
      kustomization("resources:", "  - generated", "  - rb.yaml"),
    ),
    args: ["diff", "--base", "main"],
    exit: 1,
    stream: "stdout",
    says: ["rbac-changed", "RoleBinding ops", "roleRef ClusterRole cluster-admin", "clusters/demo/rb.yaml"],
  },
  // --- h-drain: issue 19 items 3, 4 ---
  {
    surface: "flags",
    name: "19.3: new-cluster --workers MachinePool --profile prod (nodes removed undrained)",
    args: [
      "new-cluster",
      ...X,
      "--profile",
      "prod",
      "--image-id",
      "ami-0123456789abcdef0",
      "--workers",
      "MachinePool",
      "--yes",
    ],
    exit: 1,
    says: ["workers-drain", "MachinePool", "workers: MachineDeployment"],
  },
  overlay(
    "19.4: a MachineHealthCheck on the MachinePool's machines",
    all(
      put(
        "clusters/demo/mhc.yaml",
        "apiVersion: cluster.x-k8s.io/v1beta2\nkind: MachineHealthCheck\nmetadata:\n  name: demo-default\n" +
          "  namespace: demo\n  annotations:\n    argocd.argoproj.io/sync-options: Prune=false,Delete=false\n" +
          "    kustomize.toolkit.fluxcd.io/prune: disabled\nspec:\n  clusterName: demo\n  selector:\n" +
          "    matchLabels:\n      capi-gitops.io/node-pool: default\n  checks:\n" +
          "    nodeStartupTimeoutSeconds: 900\n",
      ),
      kustomization("resources:", "  - generated", "  - mhc.yaml"),
    ),
    ["mhc-can-act", "MachineHealthCheck/demo-default", "nothing remediates"],
  ),
  // --- h-smalls: issue 20 item 10 (and 19 item 11's CIDR collision) ---
  newCluster(
    "20.10: a fixed pool of 2 on prod (the profile's minSize is 3)",
    [...X, "--profile", "prod", "--pool", "name=a,autoscaling=false,replicas=2"],
    "--pool",
    "min-size=2",
  ),
  spec(
    "20.10: over the documented 64 KiB",
    async (c) =>
      void (await writeFile(
        path.join(c.repo, SPEC),
        `${await readFile(path.join(c.repo, SPEC), "utf8")}` +
          `${"# padding padding padding padding padding padding padding padding\n".repeat(1200)}`,
      )),
    ["64 KiB"],
  ),
  {
    surface: "cluster.yaml",
    name: "20.10: generate with a second cluster moved into demo's namespace (blamed on the moved one)",
    setup: async (c) => {
      const text = await readFile(path.join(c.repo, SPEC), "utf8");
      await put(
        "clusters/aaa/cluster.yaml",
        text.replace("name: demo\n", "name: aaa\n").replace("vpcCidr: 10.0.0.0/16", "vpcCidr: 10.1.0.0/16"),
      )(c);
    },
    args: ["generate"],
    exit: 1,
    says: ["clusters/aaa/cluster.yaml", "namespace", "give clusters/aaa another one", "nothing was written"],
  },
  {
    surface: "cluster.yaml",
    name: "20.10: validate --changed-since with a new cluster on demo's VPC CIDR (two pull requests from one main)",
    setup: async (c) => {
      await gitInit()(c);
      const text = await readFile(path.join(c.repo, SPEC), "utf8");
      await put(
        "clusters/other/cluster.yaml",
        text.replace("name: demo\n", "name: other\n").replace("namespace: demo\n", "namespace: other\n"),
      )(c);
      await generateCommand({ cwd: c.repo, log: () => {} });
    },
    args: ["validate", "--skip-cel", "--changed-since", "HEAD"],
    exit: 1,
    stream: "stdout",
    says: ["clusters/other/cluster.yaml", "network.vpcCidr", "fleet-unique-vpc-cidr", "10.0.0.0/16"],
  },
  overlay(
    "20.10: a GitHub token in a ConfigMap of the cluster's layer",
    all(
      put(
        "clusters/demo/cm.yaml",
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tokens\n  namespace: demo\ndata:\n` +
          `  token: ghp_${"a1B2".repeat(9)}\n`,
      ),
      kustomization("resources:", "  - generated", "  - cm.yaml"),
    ),
    ["no-key-material", "ConfigMap/tokens:data.token", "a GitHub token"],
  ),
  overlay(
    "20.10: a Slack token in a ConfigMap of the cluster's layer",
    all(
      put(
        "clusters/demo/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tokens\n  namespace: demo\ndata:\n" +
          "  hook: xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp\n",
      ),
      kustomization("resources:", "  - generated", "  - cm.yaml"),
    ),
    ["no-key-material", "ConfigMap/tokens:data.hook", "a Slack token"],
  ),
  {
    surface: "environment",
    name: "20.10: validate run from a subfolder of the repository",
    args: (c) => ["validate", "--skip-cel", "--repo", path.join(c.repo, "clusters")],
    repoFlag: false,
    exit: 2,
    says: ["not a capi-gitops repository", "run from the repository root", "--repo"],
  },
  {
    surface: "environment",
    name: "20.10: inventory run from a subfolder of the repository",
    args: (c) => ["inventory", "--repo", path.join(c.repo, "clusters", "demo")],
    repoFlag: false,
    exit: 2,
    says: ["not a capi-gitops repository", "run from the repository root"],
  },
  {
    surface: "environment",
    name: "20.10: remove-cluster in a git repository owned by another user",
    setup: all(gitInit(), chownRepo),
    skip: needsRoot,
    args: ["remove-cluster", "--name", "demo"],
    exit: 2,
    says: ["dubious ownership", "safe.directory"],
  },
  {
    surface: "cluster.yaml",
    name: "20.10: upgrade --all with one spec that does not load lists every cluster",
    setup: all(copySpec("extra"), specEdit("region: ap-northeast-2", "region: mars-1")),
    args: ["upgrade", "--all", "--to", "v1.35.0"],
    exit: 1,
    stream: "stdout",
    says: ["extra", "demo", "refused"],
  },
  // --- h-render: issue 20 items 2, 4, 5, 8 and the hand-edit acceptance point -----------------------------------
  // 20.2: an empty or partial render is an error in validate and in diff.
  overlay("20.2: resources: [] (an empty render)", kustomization("resources: []"), [
    OVERLAY,
    "render-complete",
    "Cluster/demo",
    "KubeadmControlPlane/demo-control-plane",
    "MachinePool/demo-default",
    "renders no objects",
  ]),
  overlay(
    "20.2: a patch deleting the MachinePool (a partial render)",
    kustomization(
      "resources:",
      "  - generated",
      "patches:",
      "  - target: {kind: MachinePool}",
      "    patch: |",
      "      $patch: delete",
      "      apiVersion: cluster.x-k8s.io/v1beta2",
      "      kind: MachinePool",
      "      metadata:",
      "        name: x",
    ),
    [OVERLAY, "render-complete", "MachinePool/demo-default"],
  ),
  {
    surface: "overlay",
    name: "20.2: diff of resources: [] flags the removed Cluster",
    setup: all(gitInit(), kustomization("resources: []")),
    args: ["diff", "--base", "main"],
    exit: 1,
    stream: "stdout",
    says: [
      "core-object-removed",
      "Cluster/demo",
      "KubeadmControlPlane/demo-control-plane",
      "MachinePool/demo-default",
      OVERLAY,
    ],
  },
  // 20.4: remote references are refused before any build, with the file and line.
  overlay(
    "20.4: a remote resource (?ref=)",
    kustomization("resources:", "  - generated", "  - https://github.com/example/evil//deploy?ref=main"),
    [`${OVERLAY}:5`, "no-remote-resource", "https://github.com/example/evil//deploy?ref=main", "Nothing was built"],
  ),
  overlay(
    "20.4: a remote component (gh: shorthand)",
    kustomization("resources:", "  - generated", "components:", "  - gh:example/evil//component"),
    [`${OVERLAY}:6`, "no-remote-resource", "gh:example/evil//component"],
  ),
  overlay(
    "20.4: a remote patch file",
    kustomization("resources:", "  - generated", "patches:", "  - path: https://example.com/patch.yaml"),
    [`${OVERLAY}:6`, "no-remote-resource", "https://example.com/patch.yaml"],
  ),
  overlay(
    "20.4: a remote resource in a local kustomization the overlay includes",
    all(
      put("clusters/demo/extra/kustomization.yaml", "resources:\n  - git@github.com:example/evil.git//deploy\n"),
      kustomization("resources:", "  - generated", "  - extra"),
    ),
    ["clusters/demo/extra/kustomization.yaml:2", "no-remote-resource"],
  ),
  {
    surface: "overlay",
    name: "20.4: diff with a remote resource refuses it too",
    setup: all(
      gitInit(),
      kustomization("resources:", "  - generated", "  - https://github.com/example/evil//deploy?ref=main"),
    ),
    args: ["diff", "--base", "main"],
    exit: 1,
    stream: "stdout",
    says: ["no-remote-resource", `(${OVERLAY})`],
  },
  // 20.5: findings, not crashes; a broken kustomize is a clean tool error; empty output is an error.
  spec(
    "20.5: a zone letter the region lacks (ap-northeast-2e)",
    specEdit(
      /availabilityZones:\n {2}- ap-northeast-2a\n {2}- ap-northeast-2b\n {2}- ap-northeast-2c/,
      "availabilityZones:\n  - ap-northeast-2a\n  - ap-northeast-2b\n  - ap-northeast-2e",
    ),
    ["availabilityZones.2", "ap-northeast-2e", "az-in-region"],
    "validate",
  ),
  {
    surface: "environment",
    name: "20.5: validate with a kustomize that prints no YAML",
    setup: script("kustomize", 'case "$1" in version) echo "v5.8.1"; exit 0;; esac\necho "hello: [world"'),
    args: ["validate", "--skip-cel"],
    env: (c) => ({ CAPI_GITOPS_KUSTOMIZE: path.join(c.scratch, "kustomize"), CAPI_GITOPS_CACHE: "off" }),
    exit: 2,
    says: ["kustomize build clusters/demo", "no stream of Kubernetes objects", "CAPI_GITOPS_KUSTOMIZE"],
  },
  {
    surface: "environment",
    name: "20.5: validate with a kustomize that prints words, not objects",
    setup: script("kustomize", 'case "$1" in version) echo "v5.8.1"; exit 0;; esac\necho "Error: not today"'),
    args: ["validate", "--skip-cel"],
    env: (c) => ({ CAPI_GITOPS_KUSTOMIZE: path.join(c.scratch, "kustomize"), CAPI_GITOPS_CACHE: "off" }),
    exit: 2,
    says: ["no stream of Kubernetes objects", "document 1", "Error: not today"],
  },
  {
    surface: "environment",
    name: "20.5: validate with a kustomize that prints nothing",
    setup: script("kustomize", 'case "$1" in version) echo "v5.8.1"; exit 0;; esac\nexit 0'),
    args: ["validate", "--skip-cel"],
    env: (c) => ({ CAPI_GITOPS_KUSTOMIZE: path.join(c.scratch, "kustomize"), CAPI_GITOPS_CACHE: "off" }),
    exit: 1,
    stream: "stdout",
    says: ["render-complete", "Cluster/demo", "management/sync renders no objects"],
  },
  // 20.8: risky changes flagged by diff (prod control plane also by validate).
  spec(
    "20.8: profile prod with one control-plane machine",
    specEdit("profile: dev", "profile: prod"),
    ["controlPlane.replicas", "prod-control-plane-ha", "fewer than 3"],
    "validate",
  ),
  {
    surface: "overlay",
    name: "20.8: diff of a CNI switch cilium → calico",
    setup: all(gitInit(), specEdit("cni: cilium", "cni: calico"), regenerate),
    args: ["diff", "--base", "main"],
    exit: 1,
    stream: "stdout",
    says: ["cni-switched", "network.cni", SPEC, "from cilium", "to calico"],
  },
  {
    surface: "overlay",
    name: "20.8: diff of a CNI switch cilium → none",
    setup: all(gitInit(), specEdit("cni: cilium", "cni: none"), regenerate),
    args: ["diff", "--base", "main"],
    exit: 1,
    stream: "stdout",
    says: ["cni-switched", "network.cni", "to none"],
  },
  {
    surface: "overlay",
    name: "20.8: diff of a prod control plane 3 → 1",
    setup: all(
      specEdit("profile: dev", "profile: prod"),
      specEdit("replicas: 1", "replicas: 3"),
      regenerate,
      gitInit(),
      specEdit("replicas: 3", "replicas: 1"),
      regenerate,
    ),
    args: ["diff", "--base", "main"],
    exit: 1,
    stream: "stdout",
    says: ["control-plane-ha-lost", "KubeadmControlPlane/demo-control-plane:spec.replicas", "from 3 to 1"],
  },
  {
    surface: "capi-gitops.yaml",
    name: "20.8: diff of a GitOps engine switch argocd → flux",
    setup: all(gitInit(), edit("capi-gitops.yaml", "gitops: argocd", "gitops: flux"), regenerate),
    args: ["diff", "--base", "main"],
    exit: 1,
    stream: "stdout",
    says: [
      "gitops-engine-switched",
      "capi-gitops.yaml",
      "Argo CD to Flux",
      "management/sync",
      "added GitRepository flux-system/capi-gitops",
    ],
  },
  // 20 acceptance: a hand-edit under base/, overlays/, management/ or generated/ fails validate, cold cache or warm.
  overlay(
    "20: a hand-edited base/ file (warm cache)",
    all(warmCache, edit("base/cluster/cluster.yaml", "kind: Cluster", "kind: Cluster\n# edited")),
    ["base/cluster/cluster.yaml", "generated-drift"],
  ),
  overlay(
    "20: a file hand-added to base/",
    put("base/cluster/extra.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n"),
    ["base/cluster/extra.yaml", "generated-unknown-file"],
  ),
  overlay("20: a file hand-added to overlays/", put("overlays/profiles/dev/extra.yaml", "x: 1\n"), [
    "overlays/profiles/dev/extra.yaml",
    "generated-unknown-file",
  ]),
  overlay("20: a file hand-added to management/providers", put("management/providers/extra.yaml", "x: 1\n"), [
    "management/providers/extra.yaml",
    "generated-unknown-file",
  ]),
  overlay(
    "20: a hand-edited generated/ file (warm cache)",
    all(warmCache, edit("clusters/demo/generated/kustomization.yaml", "namespace: demo", "namespace: demo\n# edited")),
    ["clusters/demo/generated/kustomization.yaml", "generated-drift"],
  ),
  // --- h-images: issue 19 items 1 and 2 ---
  {
    surface: "flags",
    name: "19: new-cluster in a region without a published image",
    args: ["new-cluster", ...X, "--yes"],
    exit: 1,
    says: ["image-published", "image-builder", "--image-lookup-org", "--image-id", "nothing was written"],
  },
  {
    surface: "flags",
    name: "19: new-cluster --profile prod --dry-run in a region without a published image",
    args: ["new-cluster", ...X, "--profile", "prod", "--yes", "--dry-run"],
    exit: 1,
    says: ["image-published", "image-builder", "nothing was written (dry run)"],
  },
  spec("19: with an AMI id that states no Kubernetes version", AMI_IMAGE(""), [
    "image.kubernetesVersion",
    "image-version",
  ]),
  spec("19: with an AMI id for another version than the control plane's", AMI_IMAGE("\n  kubernetesVersion: v1.33.4"), [
    "image.kubernetesVersion",
    "the image is for Kubernetes v1.33.4, but the control plane runs v1.34.8",
  ]),
  {
    surface: "flags",
    name: "19: upgrade a cluster on an AMI id without --image-id",
    setup: AMI_IMAGE(),
    args: ["upgrade", "--name", "demo", "--to", "v1.35.0"],
    exit: 1,
    says: ["upgrade-image", "image is fixed", "--image-id <ami-…>", "nothing was written"],
  },
  {
    surface: "flags",
    name: "19: upgrade with a malformed --image-id",
    args: ["upgrade", "--name", "demo", "--to", "v1.35.0", "--image-id", "ami-XYZ"],
    exit: 1,
    says: ["--image-id", "not an AMI id", "nothing was written"],
  },
  {
    surface: "flags",
    name: "19: upgrade with --pool-image-id without a pool",
    args: ["upgrade", "--name", "demo", "--pool-image-id", "ami-0123456789abcdef0"],
    exit: 1,
    says: ["--pool-image-id", "<pool>=<ami-…>"],
  },
  {
    surface: "flags",
    name: "19: upgrade --all with --image-id",
    args: ["upgrade", "--all", "--to", "v1.35.0", "--image-id", "ami-0123456789abcdef0"],
    exit: 1,
    says: ["--image-id", "not --all"],
  },
  // --- h-mgmt: issue 19 item 7 ---
  {
    surface: "flags",
    name: "leftovers --format yaml",
    setup: gitInit(),
    args: ["leftovers", "--format", "yaml"],
    exit: 2,
    says: ["--format", "text, json"],
  },
  {
    surface: "flags",
    name: "leftovers of a cluster HEAD does not have",
    setup: gitInit(),
    args: ["leftovers", "nosuch"],
    exit: 2,
    says: ["no cluster nosuch at HEAD", "demo"],
  },
  {
    surface: "flags",
    name: "leftovers --since a ref that does not exist",
    setup: gitInit(),
    args: ["leftovers", "--since", "no-such-ref"],
    exit: 2,
    says: ["no-such-ref"],
  },
  {
    surface: "environment",
    name: "leftovers outside a git repository",
    args: ["leftovers"],
    exit: 2,
    says: ["git", "not a git repository"],
  },
  // --- fix-a: review fixes ---
  overlay(
    "fix-a 1: a patch adding a DaemonSet to the Cilium add-on ConfigMap",
    kustomization("resources:", "  - generated", ...ADDON_PATCH),
    [
      OVERLAY,
      "user-layer-addons",
      "ConfigMap/demo-addon-cilium-v1.20.2:data.zz-extra.yaml",
      "addons/cilium/v1.20.2/cilium.yaml",
    ],
  ),
  {
    surface: "overlay",
    name: "fix-a 1: diff of a patch changing an add-on ConfigMap",
    setup: all(gitInit(), kustomization("resources:", "  - generated", ...ADDON_PATCH)),
    args: ["diff", "--base", "main"],
    exit: 1,
    stream: "stdout",
    says: ["addon-changed", "ConfigMap/demo-addon-cilium-v1.20.2", OVERLAY],
  },
  overlay(
    "fix-a 2: an own ClusterResourceSet applying cluster-admin for system:anonymous",
    all(put("clusters/demo/crs.yaml", OWN_CRS), kustomization("resources:", "  - generated", "  - crs.yaml")),
    ["clusters/demo/crs.yaml", "user-layer-addons", "ClusterResourceSet/pwn:spec", "ConfigMap/pwn:data"],
  ),
  {
    surface: "capi-gitops.yaml",
    name: "fix-a 4: diff of a repoURL change",
    setup: all(
      gitInit(),
      edit(
        "capi-gitops.yaml",
        "repoURL: https://git.example.com/platform/capi-gitops.git",
        "repoURL: https://evil.example.com/fork.git",
      ),
      regenerate,
    ),
    args: ["diff", "--base", "main"],
    exit: 1,
    stream: "stdout",
    says: [
      "sync-source-changed",
      "capi-gitops.yaml",
      "repoURL changes from https://git.example.com/platform/capi-gitops.git to https://evil.example.com/fork.git",
    ],
  },
  {
    surface: "capi-gitops.yaml",
    name: "fix-a 4: diff of a branch change",
    setup: all(gitInit(), edit("capi-gitops.yaml", "branch: main", "branch: other"), regenerate),
    args: ["diff", "--base", "main"],
    exit: 1,
    stream: "stdout",
    says: ["sync-source-changed", "branch changes from main to other"],
  },
  {
    surface: "capi-gitops.yaml",
    name: "fix-a 4: diff of an argocd.project rename",
    setup: all(
      gitInit(),
      edit("capi-gitops.yaml", "gitops: argocd\n", "gitops: argocd\nargocd:\n  project: elsewhere\n"),
      regenerate,
    ),
    args: ["diff", "--base", "main"],
    exit: 1,
    stream: "stdout",
    says: ["sync-source-changed", "argocd.project", "elsewhere"],
  },
  {
    surface: "environment",
    name: "fix-a 3: validate with a payload image not in versions.json",
    setup: edit(CILIUM_PAYLOAD, "quay.io/cilium/cilium:v1.20.2", "evil.example.com/cilium:latest"),
    args: ["validate", "--skip-cel"],
    exit: 1,
    stream: "stdout",
    says: [
      "addons-images",
      CILIUM_PAYLOAD,
      "evil.example.com/cilium:latest are not listed in versions.json addons.images.cilium",
    ],
  },
  {
    surface: "environment",
    name: "fix-a 3: diff of an edited payload and lock",
    setup: all(
      put("addons.lock.json", '{"files": {}}\n'),
      gitInit(),
      edit(CILIUM_PAYLOAD, "quay.io/cilium/cilium:v1.20.2", "evil.example.com/cilium:latest"),
      edit("addons.lock.json", "{}", '{"addons/cilium/v1.20.2/cilium.yaml": "0000"}'),
    ),
    args: ["diff", "--base", "main"],
    exit: 1,
    stream: "stdout",
    says: ["addons-changed", CILIUM_PAYLOAD, "addons.lock.json"],
  },
  overlay(
    "fix-a 1: a patch deleting the Cilium add-on ConfigMap",
    kustomization(
      "resources:",
      "  - generated",
      "patches:",
      "  - target: {kind: ConfigMap, name: demo-addon-cilium-v1.20.2}",
      "    patch: |",
      "      $patch: delete",
      "      apiVersion: v1",
      "      kind: ConfigMap",
      "      metadata:",
      "        name: x",
    ),
    [
      "user-layer-addons",
      "ClusterResourceSet/demo-cni:spec.resources",
      "the render lacks",
      "addons/cilium/v1.20.2/cilium.yaml",
    ],
  ),
  {
    surface: "overlay",
    name: "fix-a 2: diff of an own ClusterResourceSet",
    setup: all(
      gitInit(),
      put("clusters/demo/crs.yaml", OWN_CRS),
      kustomization("resources:", "  - generated", "  - crs.yaml"),
    ),
    args: ["diff", "--base", "main"],
    exit: 1,
    stream: "stdout",
    says: ["addon-changed", "ClusterResourceSet/pwn"],
  },
  // --- fix-b: review fixes ---
  importCase(
    "with the control plane's instance type set empty by a variable",
    async (c) => {
      const quickstart = await readFile(QUICKSTART, "utf8");
      const out = quickstart.replace(
        "iamInstanceProfile: control-plane.cluster-api-provider-aws.sigs.k8s.io\n      instanceType: t3.large",
        "iamInstanceProfile: control-plane.cluster-api-provider-aws.sigs.k8s.io\n      instanceType: ${CP_TYPE}",
      );
      if (out === quickstart)
        throw new Error(`case setup: the control plane's instanceType not found in ${QUICKSTART}`);
      await writeFile(path.join(c.scratch, "in.yaml"), out);
    },
    ["--kubernetes-version", "v1.34.2", "--var", "CP_TYPE="],
    [
      "spec.template.spec.instanceType",
      "the instance type is missing or empty",
      "--var NAME=m6i.large",
      /^(?![\s\S]*: undefined)/,
    ],
  ),
  {
    surface: "environment",
    name: "20.1: validate with a deleted add-on payload",
    setup: async (c) => void (await unlink(path.join(c.repo, CILIUM_PAYLOAD))),
    args: ["validate", "--skip-cel"],
    exit: 1,
    stream: "stdout",
    // addons-integrity names it; it is not also reported as generated-drift.
    says: [
      CILIUM_PAYLOAD,
      "addons-integrity",
      "lacks this file that addons.lock.json pins",
      /^(?![\s\S]*generated-drift)/,
    ],
  },
  ...[
    ["upgrade", "--name", "demo", "--to", "v1.35.0", "--dry-run"],
    ["upgrade", "--all"],
    ["upgrade", "--all", "--dry-run"],
    ["remove-cluster", "--name", "demo"],
  ].map((a): Case => ({
    surface: "environment",
    name: `20.10: ${a.join(" ")} run from a subfolder of the repository`,
    args: (c) => [...a, "--repo", path.join(c.repo, "clusters")],
    repoFlag: false,
    exit: 2,
    says: ["not a capi-gitops repository", "run from the repository root", "--repo"],
  })),
  overlay(
    "20.6: a generator config listed by path with a remote file",
    all(
      put(
        "clusters/demo/gen.yaml",
        "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: x\n  namespace: demo\nfiles:\n" +
          "  - https://example.com/x\n",
      ),
      kustomization("resources:", "  - generated", "generators:", "  - gen.yaml"),
    ),
    ["no-remote-resource", "clusters/demo/gen.yaml:7", "https://example.com/x"],
  ),
  overlay(
    "20.6: a transformer config listed by path with a remote patch",
    all(
      put(
        "clusters/demo/t.yaml",
        "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: p\n" +
          "path: https://example.com/p.yaml\ntarget:\n  kind: Cluster\n",
      ),
      kustomization("resources:", "  - generated", "transformers:", "  - t.yaml"),
    ),
    ["no-remote-resource", "clusters/demo/t.yaml:5", "https://example.com/p.yaml"],
  ),
  overlay(
    "20.6: a helm chart from a remote repository",
    kustomization(
      "resources:",
      "  - generated",
      "helmCharts:",
      "  - name: x",
      "    repo: https://charts.example.com",
      "    version: 1.0.0",
    ),
    ["no-remote-resource", "clusters/demo/kustomization.yaml:7", "https://charts.example.com"],
  ),
  {
    surface: "environment",
    name: "20.2: diff with a kustomize that prints nothing (a spec change, both sides empty)",
    setup: all(
      gitInit(),
      edit(SPEC, /^storage: ebs$/m, "storage: none"),
      script("kustomize", 'case "$1" in version) echo "v5.8.1";; esac\nexit 0'),
    ),
    args: ["diff", "--base", "main"],
    env: (c) => ({ CAPI_GITOPS_KUSTOMIZE: path.join(c.scratch, "kustomize"), CAPI_GITOPS_CACHE: "off" }),
    exit: 1,
    stream: "stdout",
    says: [
      "render-complete",
      "Cluster/demo",
      "the cluster renders no objects at all",
      "clusters/demo/kustomization.yaml",
    ],
  },
  overlay(
    "19.4: a MachineDrainRule that skips the drain, in the cluster's layer",
    all(
      put(
        "clusters/demo/skip.yaml",
        "apiVersion: cluster.x-k8s.io/v1beta2\nkind: MachineDrainRule\nmetadata:\n  name: skip-all\n" +
          "  namespace: demo\nspec:\n  drain:\n    behavior: Skip\n  pods:\n    - selector: {}\n",
      ),
      kustomization("resources:", "  - generated", "  - skip.yaml"),
    ),
    ["drain-excluded", "MachineDrainRule/skip-all", "spec.drain.behavior", "clusters/demo/skip.yaml"],
  ),
  // Account identities, access and the internal API.
  newCluster(
    "an identity role that is not an IAM role ARN",
    [...X, "--identity-role-arn", "arn:aws:iam::123:user/ops"],
    "--identity-role-arn",
    "identity.roleArn",
  ),
  newCluster(
    "both an identity role and a static identity",
    [...X, "--identity-role-arn", "arn:aws:iam::111122223333:role/capa", "--identity-secret", "creds"],
    "--identity-secret",
    "identity-kind",
  ),
  newCluster(
    "a static identity without its account",
    [...X, "--identity-secret", "creds"],
    "--identity-account",
    "identity.account",
  ),
  newCluster("access ssm with an SSH key", [...X, "--access", "ssm", "--ssh-key-name", "ops"], "--ssh-key-name", "ssm"),
  newCluster("an unknown access", [...X, "--access", "telnet"], "--access", "none, ssm, bastion"),
  newCluster(
    "access bastion without allowed CIDRs",
    [...X, "--access", "bastion", "--ssh-key-name", "ops"],
    "--bastion-allowed-cidrs",
    "bastion.allowedCidrs",
  ),
  newCluster(
    "a prod bastion open to the internet",
    [...X, "--profile", "prod", "--access", "bastion", "--ssh-key-name", "ops", "--bastion-allowed-cidrs", "0.0.0.0/0"],
    "--bastion-allowed-cidrs",
    "whole internet",
  ),
  newCluster(
    "an internal API without the management cluster's way in",
    [...X, "--api-server-scheme", "internal"],
    "--api-management-connection",
    "internal-api-reach",
  ),
  newCluster(
    "a management connection that is not a peering or attachment id",
    [...X, "--api-server-scheme", "internal", "--api-management-connection", "vpc-0123456789abcdef0"],
    "--api-management-connection",
  ),
  spec(
    "a bastion without access: bastion",
    specEdit("profile: dev\n", "profile: dev\nbastion:\n  allowedCidrs: [203.0.113.0/24]\n"),
    ["bastion", "bastion-cidrs"],
  ),
  overlay(
    "a static identity's Secret in the cluster's layer",
    all(
      specEdit("profile: dev\n", 'profile: dev\nidentity:\n  secretRef: capa-creds\n  account: "111122223333"\n'),
      put("clusters/demo/creds.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: capa-creds\n"),
      kustomization("resources:", "  - generated", "  - creds.yaml"),
    ),
    ["static-identity-secret", "Secret", "capa-creds", "identity.secretRef"],
  ),
];

// ---------------------------------------------------------------------------------------------------------------

let work: string;
let baseline: string;
let cleanup: () => Promise<void>;
const passed = new Set<string>();
const skipped = new Set<string>();

/**
 * The repository's state: every path with its type and mode (folders too, so an empty staging folder left behind
 * counts), the raw bytes of every file (like helpers' treeHash, which reads UTF-8, but byte for byte), and in a git
 * repository its refs, HEAD, status and worktrees. Not compared: .git itself and validate's content cache
 * (.capi-gitops-cache/ at the root, which validate is meant to write). Read with the synchronous calls (a third of
 * the time of the promise ones for a repository's ~130 entries) and git's four answers from one shell (one spawn).
 */
async function snapshot(dir: string): Promise<string> {
  const entries: string[] = [];
  const bytes = createHash("sha256");
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name === ".git" || (d === dir && e.name === ".capi-gitops-cache")) continue;
      const p = path.join(d, e.name);
      const st = lstatSync(p);
      entries.push(
        `${path.relative(dir, p)} ${st.isDirectory() ? "dir" : st.isSymbolicLink() ? "link" : "file"} ` +
          `${(st.mode & 0o7777).toString(8)}`,
      );
      if (st.isFile()) bytes.update(path.relative(dir, p)).update(readFileSync(p));
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  let gitState = "";
  if (lstatSync(path.join(dir, ".git"), { throwIfNoEntry: false })) {
    const g = 'git -c safe.directory="*"';
    const r = await execa(
      "sh",
      [
        "-c",
        `${g} for-each-ref --format="%(refname) %(objectname)" && echo -- && ` +
          `{ ${g} symbolic-ref -q HEAD || echo detached; } && echo -- && ` +
          `${g} status --porcelain=v1 --untracked-files=all && echo -- && ${g} worktree list --porcelain`,
      ],
      { cwd: dir },
    );
    gitState = r.stdout;
  }
  return [entries.join("\n"), bytes.digest("hex"), gitState].join("\n==\n");
}

/** A copy of the baseline: folders with their modes, files with theirs (copyFileSync), links as they are. */
function copyTree(from: string, to: string): void {
  mkdirSync(to);
  chmodSync(to, lstatSync(from).mode & 0o7777);
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const [a, b] = [path.join(from, e.name), path.join(to, e.name)];
    if (e.isDirectory()) copyTree(a, b);
    else if (e.isSymbolicLink()) symlinkSync(readlinkSync(a), b);
    else copyFileSync(a, b);
  }
}

beforeAll(async () => {
  const t = await tempDir("capi-gitops-corpus-");
  work = t.dir;
  cleanup = t.cleanup;
  baseline = path.join(work, "baseline");
  await mkdir(baseline);
  await writeFile(path.join(baseline, "capi-gitops.yaml"), CONFIG);
  // MachinePool workers (not the default): the cases on AWSMachinePools and MachinePool upgrades need one. Its own
  // images (CAPA publishes none in ap-northeast-2: issue 19, an error otherwise); the cases that need CAPA's public
  // lookup remove them (NO_IMAGE).
  await newClusterCommand({
    cwd: baseline,
    flags: {
      name: "demo",
      region: "ap-northeast-2",
      workers: "MachinePool",
      vpcCidr: "10.0.0.0/16",
      imageLookupOrg: "123456789012",
    },
    log: () => {},
    interactive: false,
    // Not checked here: "the baseline repository validates cleanly" validates it.
    render: false,
  });
  await generateCommand({ cwd: baseline, log: () => {} });

  // Can this process make a folder unwritable? chmod does not stop root; a read-only bind mount does, if allowed.
  if (process.getuid?.() !== 0) readOnlyHow = "chmod";
  else {
    const probe = path.join(work, "ro-probe");
    await mkdir(probe);
    try {
      execFileSync("mount", ["--bind", probe, probe], { stdio: "ignore" });
      try {
        execFileSync("mount", ["-o", "remount,bind,ro", probe], { stdio: "ignore" });
        const writable = await writeFile(path.join(probe, "x"), "").then(
          () => true,
          () => false,
        );
        if (!writable) readOnlyHow = "bind";
        else readOnlyWhyNot = "running as root, and a read-only bind mount still accepts writes here";
      } finally {
        execFileSync("umount", [probe], { stdio: "ignore" });
      }
    } catch {
      readOnlyWhyNot =
        "running as root (chmod does not stop root's writes) without the privilege to mount a read-only bind";
    }
  }
});

afterAll(async () => {
  for (const m of mounts) {
    try {
      execFileSync("umount", [m], { stdio: "ignore" });
    } catch {
      /* already gone */
    }
  }
  const total = CASES.length;
  const ran = total - skipped.size;
  const bySurface = Object.entries(
    CASES.reduce<Record<string, number>>((acc, c) => ({ ...acc, [c.surface]: (acc[c.surface] ?? 0) + 1 }), {}),
  )
    .map(([s, n]) => `${s} ${n}`)
    .join(", ");
  const failed = CASES.filter((c) => !passed.has(c.name) && !skipped.has(c.name)).map(
    (c) => `  - [${c.surface}] ${c.name}`,
  );
  console.log(
    [
      `bad-input corpus: ${passed.size}/${ran} cases ` +
        `passed${skipped.size ? ` (${skipped.size} skipped: ${[...skipped].join("; ")})` : ""}; ${total} ` +
        `cases (${bySurface})`,
      ...(failed.length ? ["failing:", ...failed] : []),
    ].join("\n"),
  );
  await cleanup?.();
});

describe("the corpus itself", () => {
  it("has at least 60 cases, unique names, and covers every surface", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(60);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
    expect(new Set(CASES.map((c) => c.surface))).toEqual(
      new Set(["flags", "cluster.yaml", "capi-gitops.yaml", "overlay", "environment"]),
    );
  });

  // The cache stays off here so that the baseline every case copies holds nothing validate wrote.
  it("the baseline repository validates cleanly (so every finding below comes from the case)", async () => {
    const r = await run(() =>
      execa(process.execPath, [BIN, "validate", "--skip-cel", "--repo", baseline], {
        cwd: ROOT,
        reject: false,
        stdin: "ignore",
        env: { FORCE_COLOR: "0", CAPI_GITOPS_CACHE: "off" },
      }),
    );
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  });
});

describe.concurrent("bad-input corpus", () => {
  for (const c of CASES) {
    it(`[${c.surface}] ${c.name}`, async (t) => {
      const why = c.skip?.();
      if (why) {
        skipped.add(c.name);
        t.skip(why);
      }
      const scratch = await mkdtemp(path.join(work, "case-"));
      const repo = path.join(scratch, "repo");
      copyTree(baseline, repo);
      const ctx: Ctx = { repo, scratch };
      const undo = await c.setup?.(ctx);
      try {
        const before = await snapshot(repo);
        const args = typeof c.args === "function" ? c.args(ctx) : c.args;
        const argv = [...args, ...(c.repoFlag === false ? [] : ["--repo", repo])];
        // In-process through run(argv, io); a case that sets the environment runs the CLI as a real child process.
        const r = await run((): Promise<{ exitCode?: number | null; stdout: unknown; stderr: unknown }> =>
          c.env
            ? execa(process.execPath, [BIN, ...argv], {
                cwd: ROOT,
                reject: false,
                stdin: "ignore",
                timeout: 240_000,
                env: { FORCE_COLOR: "0", ...c.env(ctx) },
              })
            : runCli(argv),
        );
        const stdout = String(r.stdout);
        const stderr = String(r.stderr);
        const shown =
          `--- exit ${r.exitCode}\n--- stderr\n${stderr.slice(0, 3000)}\n` + `--- stdout\n${stdout.slice(0, 3000)}`;
        // Every broken promise of the case is listed, not only the first.
        const problems: string[] = [];
        if (r.exitCode !== c.exit) problems.push(`exit code ${r.exitCode}, expected ${c.exit}`);
        const message = c.stream === "stdout" ? stdout : stderr;
        for (const s of c.says)
          if (typeof s === "string" ? !message.includes(s) : !s.test(message))
            problems.push(`${c.stream ?? "stderr"} does not say ${String(s)}`);
        if (STACK.test(stderr) || STACK.test(stdout)) problems.push("a stack trace or internal error is printed");
        if ((await snapshot(repo)) !== before) problems.push("the repository changed");
        const extra = await c.after?.(ctx);
        if (extra) problems.push(extra);
        expect(problems, shown).toEqual([]);
        passed.add(c.name);
      } finally {
        await undo?.();
        await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
      }
    });
  }
});
