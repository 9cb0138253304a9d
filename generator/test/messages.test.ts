/** Issue 9, items 22 and 23: messages say what is wrong, where, and what to do next. */
import { readFileSync } from "node:fs";
import { chmod, cp, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newClusterCommand } from "../src/commands/new-cluster.js";
import { validateCommand } from "../src/commands/validate.js";
import { diffCommand } from "../src/commands/diff.js";
import { formatFindings } from "../src/validate/format.js";
import { checkIpv4Cidr } from "../src/cluster-spec/cidr.js";
import { KUBELET_ARG_VALUE_MAX, parseSpecObject, parseSpecText } from "../src/cluster-spec/parse.js";
import { syncSafetyRules } from "../src/validate/rules.js";
import { truncate } from "../src/core/findings.js";
import { attribute, fieldSteps, touches } from "../src/validate/attribution.js";
import { versions } from "../src/pins/versions.js";
import { ROOT, runCli, tempDir } from "./helpers.js";
import { newClusterArgs } from "./helpers/repo.js";

const edit = async (repo: string, file: string, fn: (s: string) => string) =>
  writeFile(path.join(repo, file), fn(await readFile(path.join(repo, file), "utf8")));

const cli = (...args: string[]) => runCli(args);

const SPEC = "apiVersion: capi-gitops.io/v1alpha1\nkind: ClusterSpec\nname: demo\nregion: ap-northeast-2\n";
const base = { apiVersion: "capi-gitops.io/v1alpha1", kind: "ClusterSpec", name: "demo", region: "ap-northeast-2" };

describe("23: CIDRs", () => {
  it.each([
    ["010.002.0.0/16", /leading zeros.*10\.2\.0\.0\/16/],
    ["10.0.0.0/016", /leading zeros.*10\.0\.0\.0\/16/],
    ["10.0.0.1/16", /host bits set; the network is 10\.0\.0\.0\/16/],
  ])("23: %s gets its own message", (cidr, says) => {
    const r = checkIpv4Cidr(cidr);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(says);
    expect(!r.ok && r.message).not.toMatch(cidr.startsWith("0") || cidr.includes("/0") ? /host bits/ : /leading zeros/);
  });
  it("23: a valid CIDR stays valid", () => expect(checkIpv4Cidr("10.2.0.0/16")).toEqual({ ok: true, prefix: 16 }));
});

describe("23: cluster.yaml messages", () => {
  it("23: a YAML merge key is named as unsupported, with its line and what to do", () => {
    const text = `${SPEC}x-pool: &pool\n  instanceType: t3.large\nnodePools:\n  - name: a\n    <<: *pool\n`;
    const r = parseSpecText(text, "clusters/demo/cluster.yaml");
    expect(r.spec).toBeUndefined();
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ file: "clusters/demo/cluster.yaml", path: "nodePools.0", rule: "spec-yaml" });
    expect(r.findings[0]!.message).toMatch(/merge key "<<" at line 9 is not supported.*write the fields out/);
    expect(r.findings[0]!.message).not.toMatch(/unknown field/);
  });

  it("23: too many labels point at nodePools[i].labels, not at a kubeletExtraArgs schema error", () => {
    const labels = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`example.com/label-${i}`, "v".repeat(40)]));
    const r = parseSpecObject(
      { ...base, nodePools: [{ name: "a" }, { name: "b", labels }] },
      "clusters/demo/cluster.yaml",
    );
    const f = r.findings.filter((x) => x.rule === "label-valid");
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ path: "nodePools.1.labels", file: "clusters/demo/cluster.yaml" });
    expect(f[0]!.message).toMatch(/node-labels argument \d+ characters long; KubeadmConfig allows at most 1024/);
    // A few labels are fine.
    expect(parseSpecObject({ ...base, nodePools: [{ name: "a", labels: { "example.com/x": "y" } }] }).findings).toEqual(
      [],
    );
  });

  it("23: the kubelet argument limit is the one in the pinned KubeadmConfig schema", () => {
    const schema = JSON.parse(
      readFileSync(
        path.join(ROOT, "schemas/kubeconform/bootstrap.cluster.x-k8s.io/kubeadmconfig_v1beta2.json"),
        "utf8",
      ),
    );
    const arg =
      schema.properties.spec.properties.joinConfiguration.properties.nodeRegistration.properties.kubeletExtraArgs.items;
    expect(arg.properties.value.maxLength).toBe(KUBELET_ARG_VALUE_MAX);
  });

  it.each([
    ["name", { ...base, name: "A".repeat(60_000) }],
    ["region", { ...base, region: "x".repeat(60_000) }],
    ["vpcCidr", { ...base, network: { vpcCidr: "1".repeat(60_000) } }],
    ["kubernetesVersion", { ...base, kubernetesVersion: "v".repeat(60_000) }],
  ])("23: a 60,000-character %s is echoed as its first 60 characters and its length", (_, input) => {
    const r = parseSpecObject(input);
    expect(r.findings.length).toBeGreaterThan(0);
    for (const f of r.findings) expect(f.message.length).toBeLessThan(800);
    expect(
      r.findings.some((f) =>
        f.message.includes(
          `${JSON.stringify(
            JSON.stringify(input)
              .match(/"(\w)\1{59}/)![0]
              .slice(1),
          )}…(60000 characters)`,
        ),
      ),
    ).toBe(true);
  });

  it("23: truncate keeps short values and cuts long ones", () => {
    expect(truncate("a".repeat(200))).toBe("a".repeat(200));
    expect(truncate("a".repeat(201))).toBe(`${"a".repeat(60)}…(201 characters)`);
  });
});

describe("23: sync-safety hint", () => {
  const rc = (annotations?: Record<string, string>) => ({
    cluster: "demo",
    objects: [
      {
        apiVersion: "cluster.x-k8s.io/v1beta2",
        kind: "Cluster",
        metadata: { name: "demo", namespace: "demo", annotations },
      },
    ],
    origins: [undefined],
  });
  it.each([
    [
      "no annotations",
      undefined,
      "argocd.argoproj.io/sync-options: Prune=false,Delete=false, kustomize.toolkit.fluxcd.io/prune: disabled",
    ],
    [
      "Prune only",
      { "argocd.argoproj.io/sync-options": "Prune=false", "kustomize.toolkit.fluxcd.io/prune": "disabled" },
      "argocd.argoproj.io/sync-options: Prune=false,Delete=false",
    ],
    [
      "another option kept",
      { "argocd.argoproj.io/sync-options": "ServerSideApply=true", "kustomize.toolkit.fluxcd.io/prune": "disabled" },
      "argocd.argoproj.io/sync-options: ServerSideApply=true,Prune=false,Delete=false",
    ],
  ])("23: %s → each annotation key named once", (_, annotations, add) => {
    const [f] = syncSafetyRules(rc(annotations));
    expect(f!.message).toBe(`Argo CD or Flux could delete this object on its own; add ${add}`);
    expect(f!.message.split("argocd.argoproj.io/sync-options").length).toBe(2);
  });
});

describe("23: the CLI", () => {
  it("23: no command → the help on stderr and exit 2; `help` stays exit 0 on stdout", async () => {
    const none = await cli();
    expect(none.exitCode).toBe(2);
    expect(none.stdout).toBe("");
    expect(none.stderr).toMatch(/no command given[\s\S]*Commands:/);
    const help = await cli("help");
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/Commands:/);
  });

  it.each([
    [["validate", "--format", "text", "--format", "json"], "--format"],
    [["new-cluster", "--name", "a", "--name", "b", "--region", "ap-northeast-2", "--yes", "--dry-run"], "--name"],
    [["diff", "--base", "main", "--base=HEAD"], "--base"],
    [["validate", "--repo", "/nonexistent-a", "--repo", "/nonexistent-b"], "--repo"],
  ])("23: a repeated single-value flag is a usage error naming it: %j", async (args, flag) => {
    const r = await cli(...args);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${flag} is given 2 times`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("23: --pool stays repeatable", async () => {
    const r = await cli(
      ...newClusterArgs("x", "ap-northeast-2"),
      "--pool",
      "name=a",
      "--pool",
      "name=b",
      "--yes",
      "--dry-run",
      "--no-render",
      "--repo",
      path.join(ROOT, "generator", "test", "fixtures"),
    );
    expect(r.stderr).not.toContain("is given 2 times");
  });

  it("23: setup --help lists every tool pinned in versions.json", async () => {
    const r = await cli("setup", "--help");
    expect(r.exitCode).toBe(0);
    const tools = Object.entries(versions().tools);
    expect(tools.length).toBeGreaterThanOrEqual(4);
    for (const [name, pin] of tools) expect(r.stdout).toContain(`${name}`.padEnd(18) + `${pin.module}@${pin.version}`);
    const top = await cli("help");
    for (const [name] of tools)
      expect(top.stdout.split("\n").find((l) => l.trimStart().startsWith("setup"))).toContain(name);
  });
});

describe("22: attribution of a finding to the file that set the value", () => {
  const OWN = "clusters/x/kustomization.yaml";
  const BASE = "base/cluster/awscluster.yaml";
  const files: Record<string, string> = {
    [BASE]:
      "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\nkind: AWSCluster\nmetadata:\n" +
      "  name: placeholder\nspec:\n  region: us-east-1\n  network:\n    vpc:\n" +
      "      cidrBlock: 10.0.0.0/16\n",
    [OWN]: [
      "apiVersion: kustomize.config.k8s.io/v1beta1",
      "kind: Kustomization",
      "resources:",
      "  - generated",
      "patches:",
      "  - target: {kind: AWSCluster}",
      "    patch: |-",
      "      - op: replace",
      "        path: /spec/region",
      "        value: mars-1",
      "  - path: network-patch.yaml",
      "  - target: {kind: KubeadmControlPlane}",
      "    patch: |-",
      "      - op: replace",
      "        path: /spec/replicas",
      "        value: 2",
      "",
    ].join("\n"),
    "clusters/x/network-patch.yaml":
      "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\nkind: AWSCluster\nmetadata:\n  name: x\nspec:\n" +
      "  network:\n    vpc:\n      cidrBlock: 10.9.0.0/16\n",
  };
  const read = (rel: string) => files[rel];
  const aws = { kind: "AWSCluster", metadata: { name: "x" } };
  const patched = [OWN, "clusters/x/generated/kustomization.yaml"];
  it.each([
    ["a field the inline patch set → the kustomization, at the patch", "spec.region", patched, { file: OWN, line: 6 }],
    [
      "a field below a patch file's field → the patch file, at the field",
      "spec.network.vpc.cidrBlock",
      patched,
      { file: "clusters/x/network-patch.yaml", line: 8 },
    ],
    [
      "a field above a patched one → the patch",
      "spec.network",
      patched,
      { file: "clusters/x/network-patch.yaml", line: 6 },
    ],
    [
      "a field no patch of the cluster set → the base file, at the field",
      "spec.identityRef",
      patched,
      { file: BASE, line: 5 },
    ],
    [
      "a field set in the base → the base file's line",
      "spec.network.vpc.cidrBlock",
      ["clusters/x/generated/kustomization.yaml"],
      { file: BASE, line: 9 },
    ],
    ["no transformer annotation → the origin", "spec.region", undefined, { file: BASE, line: 6 }],
  ])("22: %s", (_, field, transformedBy, expected) => {
    expect(attribute(aws, fieldSteps(field), BASE, OWN, transformedBy, read)).toEqual(expected);
  });
  it("22: a patch of another kind does not claim the field", () => {
    expect(
      attribute(
        { kind: "AWSMachinePool", metadata: { name: "x-default" } },
        ["spec", "region"],
        "base/machinepool/awsmachinepool.yaml",
        OWN,
        [OWN],
        read,
      ),
    ).toEqual({ file: "base/machinepool/awsmachinepool.yaml", line: undefined });
  });
  it("22: field paths of every layer read alike", () => {
    expect(fieldSteps("/spec/a~1b/0")).toEqual(["spec", "a/b", "0"]);
    expect(fieldSteps("spec.items[2].name")).toEqual(["spec", "items", "2", "name"]);
    expect(touches(["spec", "items", "-"], ["spec", "items", "3", "name"])).toBe(true);
    expect(touches(["spec", "region"], ["spec", "regions"])).toBe(false);
  });
});

describe("22: GitHub annotations", () => {
  it("22: line= is added where the line is known", () => {
    const out = formatFindings(
      [
        {
          cluster: "x",
          file: "clusters/x/kustomization.yaml",
          line: 7,
          path: "AWSCluster/x:spec.region",
          rule: "kubeconform",
          severity: "error",
          message: "bad",
        },
      ],
      "github",
      { clusters: 1, errors: 1, warnings: 0 },
    );
    expect(out.split("\n")[0]).toBe(
      "::error file=clusters/x/kustomization.yaml,line=7,title=kubeconform [x]::AWSCluster/x:spec.region: bad",
    );
  });
});

describe("23: validate's follow-up messages", () => {
  let base: string;
  const cleanups: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    base = t.dir;
    await newClusterCommand({
      cwd: base,
      log: () => {},
      flags: { name: "alpha", region: "ap-northeast-2", workers: "MachinePool", imageLookupOrg: "123456789012" },
      render: false,
    });
    await newClusterCommand({
      cwd: base,
      log: () => {},
      flags: { name: "beta", region: "us-east-1", imageLookupOrg: "123456789012" },
      render: false,
    });
  });
  afterAll(async () => {
    for (const c of cleanups) await c();
  });
  const copy = async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    await cp(base, t.dir, { recursive: true });
    return t.dir;
  };
  const validate = (cwd: string) => validateCommand({ cwd, skipCel: true, cache: false, workers: 2 });

  it.each([
    ["YAML that does not parse", (s: string) => `${s}region: [\n`],
    ["a field of the wrong type", (s: string) => s.replace(/replicas: 1/, "replicas: one")],
    ["a directory instead of the file", undefined],
  ])("23: a cluster.yaml that does not load (%s) gives its own error, not a finding per object", async (_, change) => {
    const repo = await copy();
    const file = path.join(repo, "clusters/alpha/cluster.yaml");
    if (change) await writeFile(file, change(await readFile(file, "utf8")));
    else {
      await rm(file);
      await mkdir(file);
    }
    const { findings } = await validate(repo);
    const errors = findings.filter((f) => f.severity === "error");
    expect(errors.length, JSON.stringify(errors, null, 1)).toBeGreaterThan(0);
    expect(
      errors.every((f) => f.file === "clusters/alpha/cluster.yaml"),
      JSON.stringify(errors, null, 1),
    ).toBe(true);
    expect(errors.some((f) => /belongs to no cluster/.test(f.message))).toBe(false);
  });

  it.skipIf(process.getuid?.() === 0)(
    "23: an unreadable cluster.yaml (mode 000) gives one error, not a finding per object",
    async () => {
      const repo = await copy();
      await chmod(path.join(repo, "clusters/alpha/cluster.yaml"), 0o000);
      try {
        const errors = (await validate(repo)).findings.filter((f) => f.severity === "error");
        expect(errors.map((f) => [f.file, f.message])).toEqual([
          ["clusters/alpha/cluster.yaml", "cannot read it: EACCES"],
        ]);
      } finally {
        await chmod(path.join(repo, "clusters/alpha/cluster.yaml"), 0o644);
      }
    },
  );

  it("23: drift while a spec is invalid says to fix the spec first, not only to run generate", async () => {
    const repo = await copy();
    await edit(repo, "clusters/alpha/cluster.yaml", (s) => s.replace(/replicas: 1/, "replicas: 2"));
    await edit(repo, "clusters/beta/generated/kustomization.yaml", (s) => `${s}# edited\n`);
    const { findings } = await validate(repo);
    const drift = findings.filter((f) => f.rule === "generated-drift");
    expect(drift.map((f) => f.file)).toContain("clusters/beta/generated/kustomization.yaml");
    for (const d of drift)
      expect(d.message).toMatch(
        new RegExp(
          String.raw`fix clusters/alpha/cluster\.yaml first \(generate refuses while it is invalid\), ` +
            "then run `npm run generate`",
        ),
      );
    // With valid specs the message is the plain one.
    await edit(repo, "clusters/alpha/cluster.yaml", (s) => s.replace(/replicas: 2/, "replicas: 1"));
    const again = (await validate(repo)).findings.filter((f) => f.rule === "generated-drift");
    expect(again.map((f) => f.message)).toEqual([
      "differs from what the specs generate; run `npm run generate` and commit the result",
    ]);
  });

  it(`22: findings on fields the cluster's own patches set name that kustomization (with the line), \
others the base file`, async () => {
    const repo = await copy();
    const own = [
      "apiVersion: kustomize.config.k8s.io/v1beta1",
      "kind: Kustomization",
      "resources:",
      "  - generated",
      "patches:",
      "  - target: {kind: KubeadmControlPlane}",
      "    patch: |-",
      "      - op: replace",
      "        path: /spec/replicas",
      "        value: 2",
      "  - path: pool-patch.yaml",
      "",
    ].join("\n");
    await writeFile(path.join(repo, "clusters/alpha/kustomization.yaml"), own);
    // A strategic-merge patch file that gives the pool replicas although it is autoscaled.
    await writeFile(
      path.join(repo, "clusters/alpha/pool-patch.yaml"),
      "apiVersion: cluster.x-k8s.io/v1beta2\nkind: MachinePool\nmetadata:\n  name: alpha-default\nspec:\n" +
        "  replicas: 2\n",
    );
    const { findings } = await validate(repo);
    // The upstream KubeadmControlPlane webhook's denial (validate/admission.ts), on the line of the patch that set it.
    const odd = findings.find(
      (f) =>
        f.cluster === "alpha" &&
        f.rule === "admission/webhook" &&
        f.path === "KubeadmControlPlane/alpha-control-plane:spec.replicas",
    );
    expect(odd, JSON.stringify(findings, null, 1)).toMatchObject({
      file: "clusters/alpha/kustomization.yaml",
      line: 6,
    });
    const replicas = findings.find((f) => f.cluster === "alpha" && f.rule === "autoscaled-no-replicas");
    expect(replicas, JSON.stringify(findings, null, 1)).toMatchObject({
      file: "clusters/alpha/pool-patch.yaml",
      line: 6,
    });
    // Nothing of alpha blames a base file for what its own patches did; the base files it names carry only the
    // expected warning: the MachinePool (base/machinepool) whose nodes are removed undrained (workers-drain).
    expect(
      findings
        .filter((f) => f.cluster === "alpha" && f.file?.startsWith("base/"))
        .map((f) => `${f.severity} ${f.rule}`),
    ).toEqual(["warning workers-drain"]);
    // The GitHub annotation carries file and line.
    const gh = formatFindings([odd!], "github", { clusters: 1, errors: 1, warnings: 0 });
    expect(gh).toContain("file=clusters/alpha/kustomization.yaml,line=6,");
  });

  it(`22: a region patch in the cluster's kustomization: \
every zone finding it causes names that kustomization`, async () => {
    const repo = await copy();
    const own =
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - generated\n" +
      "patches:\n  - target: {kind: AWSCluster}\n    patch: |-\n      - op: replace\n" +
      "        path: /spec/region\n        value: us-east-1\n";
    await writeFile(path.join(repo, "clusters/alpha/kustomization.yaml"), own);
    const zones = (await validate(repo)).findings.filter((f) => f.cluster === "alpha" && f.rule === "az-in-region");
    expect(zones.length).toBeGreaterThanOrEqual(9); // 6 subnets + 3 pool zones
    expect(new Set(zones.map((f) => `${f.file}:${f.line}`))).toEqual(new Set(["clusters/alpha/kustomization.yaml:6"]));
  });

  it("23: a symlinked kustomization.yaml is named as a symbolic link, not 'unable to find'", async () => {
    const repo = await copy();
    const dir = path.join(repo, "clusters/alpha");
    await mkdir(path.join(repo, "overlays/shared-alpha"));
    await writeFile(
      path.join(repo, "overlays/shared-alpha/kustomization.yaml"),
      (await readFile(path.join(dir, "kustomization.yaml"), "utf8")).replace(
        /- generated/,
        "- ../../clusters/alpha/generated",
      ),
    );
    await rm(path.join(dir, "kustomization.yaml"));
    await symlink("../../overlays/shared-alpha/kustomization.yaml", path.join(dir, "kustomization.yaml"));
    const { findings } = await validate(repo);
    const f = findings.filter((x) => x.cluster === "alpha" && x.rule === "kustomize-build");
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ file: "clusters/alpha/kustomization.yaml" });
    expect(f[0]!.message).toMatch(
      new RegExp(
        String.raw`symbolic link to \.\./\.\./overlays/shared-alpha/kustomization\.yaml, outside its own folder` +
          ".*replace it with a regular file",
      ),
    );
  });
});

describe("22: diff flags", () => {
  it(`22: a flag on a field the cluster's own patch changed names that kustomization and line, \
not the base file`, async () => {
    const t = await tempDir();
    try {
      const repo = t.dir;
      const git = (...args: string[]) =>
        execa("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", ...args], {
          cwd: repo,
        });
      await git("init", "-q", "-b", "main");
      await newClusterCommand({
        cwd: repo,
        log: () => {},
        render: false,
        flags: { name: "x", region: "ap-northeast-2" },
      });
      await git("add", "-A");
      await git("commit", "-q", "-m", "x");
      const own =
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - generated\n" +
        "patches:\n  - target: {kind: AWSCluster}\n    patch: |-\n      - op: replace\n" +
        "        path: /spec/region\n        value: eu-west-1\n";
      await writeFile(path.join(repo, "clusters/x/kustomization.yaml"), own);
      const r = await diffCommand({ cwd: repo, base: "main", format: "text" });
      const flag = r.findings.find((f) => f.rule === "awscluster-immutable");
      expect(flag, JSON.stringify(r.findings, null, 1)).toMatchObject({
        cluster: "x",
        path: "AWSCluster/x:spec.region",
        file: "clusters/x/kustomization.yaml",
        line: 6,
      });
      expect(r.report.clusters[0]!.findings).toContainEqual(flag);
    } finally {
      await t.cleanup();
    }
  });
});
