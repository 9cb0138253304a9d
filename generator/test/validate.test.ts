/**
 * `npm run validate` on real temporary repositories: every layer (spec, drift, kustomize, kubeconform, CEL, rules)
 * reports each defect with its cluster, file and field; the CLI exits 1 on errors, 0 when valid.
 */
import { cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newClusterCommand } from "../src/commands/new-cluster.js";
import { validateCommand } from "../src/commands/validate.js";
import type { Finding } from "../src/core/findings.js";
import { runCli, tempDir } from "./helpers.js";

let base: string;
const dirs: (() => Promise<void>)[] = [];
beforeAll(async () => {
  const t = await tempDir();
  dirs.push(t.cleanup);
  base = t.dir;
  const log = () => {};
  await newClusterCommand({
    cwd: base,
    log,
    flags: { name: "alpha", region: "ap-northeast-2", workers: "MachinePool", imageLookupOrg: "123456789012" },
    render: false,
  });
  await newClusterCommand({
    cwd: base,
    log,
    flags: {
      name: "beta",
      region: "us-east-2",
      workers: "MachineDeployment",
      profile: "prod",
      kubernetesVersion: "v1.34.3",
    },
    render: false,
  });
});
afterAll(async () => {
  for (const c of dirs) await c();
});

async function copyRepo(): Promise<string> {
  const t = await tempDir();
  dirs.push(t.cleanup);
  await cp(base, t.dir, { recursive: true });
  return t.dir;
}
const edit = async (repo: string, file: string, fn: (s: string) => string) =>
  writeFile(path.join(repo, file), fn(await readFile(path.join(repo, file), "utf8")));
/** Adds resources and JSON6902 patches to a cluster's own (user-owned) kustomization. */
const userLayer = async (repo: string, cluster: string, patches: { kind: string; ops: object[] }[], extra?: string) => {
  const k = {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: ["generated", ...(extra ? ["extra.yaml"] : [])],
    patches: patches.map((p) => ({ target: { kind: p.kind }, patch: JSON.stringify(p.ops) })),
  };
  await writeFile(path.join(repo, "clusters", cluster, "kustomization.yaml"), JSON.stringify(k, null, 2));
  if (extra) await writeFile(path.join(repo, "clusters", cluster, "extra.yaml"), extra);
};

describe("a fresh repository validates", () => {
  it("no errors for two new clusters; the only warnings are the defaults' known ones (add-ons: none)", async () => {
    const r = await validateCommand({ cwd: base });
    // alpha (dev): its own images (lookupOrg; CAPA publishes none in its region), MachinePool workers (removed
    // undrained: workers-drain); beta (prod, a published version in us-east-2): its API is open to 0.0.0.0/0 without
    // apiServer.allowedCidrs.
    expect(r.findings.map((f) => `${f.severity} ${f.cluster} ${f.rule}`).sort()).toEqual([
      "warning alpha workers-drain",
      "warning beta api-open-to-world",
    ]);
    expect(r.summary).toEqual({ clusters: 2, errors: 0, warnings: 2 });
  });
});

type Case = [string, (repo: string) => Promise<void>, Partial<Finding> & { pathIncludes?: string }];
const cases: Case[] = [
  [
    "a typo'd field",
    (r) =>
      userLayer(r, "alpha", [{ kind: "KubeadmControlPlane", ops: [{ op: "add", path: "/spec/replicaz", value: 3 }] }]),
    {
      cluster: "alpha",
      rule: "kubeconform",
      file: "clusters/alpha/kustomization.yaml",
      pathIncludes: "KubeadmControlPlane/alpha-control-plane:spec",
    },
  ],
  [
    "a wrong type",
    (r) =>
      userLayer(r, "alpha", [{ kind: "AWSMachinePool", ops: [{ op: "add", path: "/spec/maxSize", value: "ten" }] }]),
    { cluster: "alpha", rule: "kubeconform", pathIncludes: "AWSMachinePool/alpha-default:spec.maxSize" },
  ],
  [
    "an even KCP replica count (spec)",
    (r) => edit(r, "clusters/alpha/cluster.yaml", (s) => s.replace("replicas: 1", "replicas: 2")),
    {
      cluster: "alpha",
      rule: "kcp-replicas-odd",
      file: "clusters/alpha/cluster.yaml",
      pathIncludes: "controlPlane.replicas",
    },
  ],
  [
    "an even KCP replica count (patch)",
    (r) =>
      userLayer(r, "alpha", [{ kind: "KubeadmControlPlane", ops: [{ op: "add", path: "/spec/replicas", value: 4 }] }]),
    {
      cluster: "alpha",
      rule: "admission/webhook",
      file: "clusters/alpha/kustomization.yaml",
      pathIncludes: "KubeadmControlPlane/alpha-control-plane:spec.replicas",
    },
  ],
  [
    "an AZ outside the region (spec)",
    (r) =>
      edit(r, "clusters/alpha/cluster.yaml", (s) =>
        s.replace("- ap-northeast-2c\nkubernetesVersion", "- us-east-1c\nkubernetesVersion"),
      ),
    {
      cluster: "alpha",
      rule: "az-in-region",
      file: "clusters/alpha/cluster.yaml",
      pathIncludes: "availabilityZones.2",
    },
  ],
  [
    "an AZ outside the region (patch)",
    (r) =>
      userLayer(r, "alpha", [
        { kind: "AWSMachinePool", ops: [{ op: "add", path: "/spec/availabilityZones/0", value: "eu-west-1a" }] },
      ]),
    { cluster: "alpha", rule: "az-in-region", pathIncludes: "AWSMachinePool/alpha-default:spec.availabilityZones.0" },
  ],
  [
    "a dangling reference",
    (r) =>
      userLayer(r, "alpha", [
        {
          kind: "MachinePool",
          ops: [{ op: "add", path: "/spec/template/spec/bootstrap/configRef/name", value: "nope" }],
        },
      ]),
    {
      cluster: "alpha",
      rule: "reference-resolves",
      pathIncludes: "MachinePool/alpha-default:spec.template.spec.bootstrap.configRef.name",
    },
  ],
  [
    "two clusters with the same name",
    (r) =>
      cp(path.join(r, "clusters/alpha"), path.join(r, "clusters/gamma"), { recursive: true }).then(() =>
        edit(r, "clusters/gamma/cluster.yaml", (s) => s.replace("namespace: alpha", "namespace: gamma")),
      ),
    { cluster: "gamma", rule: "name-matches-dir", file: "clusters/gamma/cluster.yaml", pathIncludes: "name" },
  ],
  [
    "two clusters with the same name (rendered)",
    (r) =>
      cp(path.join(r, "clusters/alpha"), path.join(r, "clusters/gamma"), { recursive: true }).then(() =>
        edit(r, "clusters/gamma/cluster.yaml", (s) => s.replace("namespace: alpha", "namespace: gamma")),
      ),
    { cluster: "gamma", rule: "fleet-unique-name", pathIncludes: "Cluster/alpha:metadata.name" },
  ],
  [
    "overlapping CIDRs",
    (r) =>
      edit(r, "clusters/beta/cluster.yaml", (s) =>
        s.replace("podCidr: 192.168.0.0/16", `podCidr: ${/vpcCidr: (\S+)\/16/.exec(s)![1]}/20`),
      ),
    { cluster: "beta", rule: "cidr-overlap", file: "clusters/beta/cluster.yaml", pathIncludes: "network.podCidr" },
  ],
  [
    "a v1beta1 AWSCluster",
    (r) =>
      userLayer(
        r,
        "beta",
        [],
        "apiVersion: infrastructure.cluster.x-k8s.io/v1beta1\nkind: AWSCluster\nmetadata:\n  name: legacy\n" +
          "spec:\n  region: us-east-1\n",
      ),
    {
      cluster: "beta",
      rule: "api-served",
      file: "clusters/beta/extra.yaml",
      pathIncludes: "AWSCluster/legacy:apiVersion",
    },
  ],
  [
    "a CEL rule (duplicate extraArgs names; the admission layer evaluates the CRD's CEL)",
    (r) =>
      userLayer(r, "beta", [
        {
          kind: "KubeadmControlPlane",
          ops: [
            {
              op: "add",
              path: "/spec/kubeadmConfigSpec/clusterConfiguration/controllerManager/extraArgs/-",
              value: { name: "cloud-provider", value: "aws" },
            },
          ],
        },
      ]),
    { cluster: "beta", rule: "admission/cel", pathIncludes: "controllerManager.extraArgs" },
  ],
  [
    "a hand-edited generated file",
    (r) => edit(r, "clusters/beta/generated/namespace.yaml", (s) => `${s}# edited\n`),
    { cluster: "beta", rule: "generated-drift", file: "clusters/beta/generated/namespace.yaml" },
  ],
  [
    "a Secret with data",
    (r) =>
      userLayer(r, "alpha", [], "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ndata:\n  key: c2VjcmV0\n"),
    { cluster: "alpha", rule: "no-plaintext-secrets", pathIncludes: "Secret/creds:data" },
  ],
  [
    "a broken add-on payload (issue 11)",
    (r) =>
      edit(r, "addons/cilium/v1.20.2/cilium.yaml", (s) =>
        s.replace("kind: DaemonSet\n", "kind: DaemonSet\nbogusField: 1\n"),
      ),
    { rule: "kubeconform", file: "addons/cilium/v1.20.2/cilium.yaml", pathIncludes: "DaemonSet/cilium" },
  ],
  [
    "a CCM ClusterResourceSet that misses its Cluster (issue 11)",
    (r) =>
      userLayer(r, "alpha", [
        {
          kind: "ClusterResourceSet",
          ops: [{ op: "replace", path: "/spec/clusterSelector/matchLabels", value: { nothing: "here" } }],
        },
      ]),
    { cluster: "alpha", rule: "addons-ccm", pathIncludes: "Cluster/alpha:metadata.labels" },
  ],
];

describe("each defect is reported with cluster, file and field", () => {
  it.each(cases)("%s", async (_label, mutate, expected) => {
    const repo = await copyRepo();
    await mutate(repo);
    const { findings, summary } = await validateCommand({ cwd: repo });
    const { pathIncludes, ...exact } = expected;
    const hit = findings.find(
      (f) =>
        Object.entries(exact).every(([k, v]) => (f as any)[k] === v) &&
        (!pathIncludes || f.path?.includes(pathIncludes)),
    );
    expect(hit, JSON.stringify(findings, null, 2)).toBeDefined();
    expect(hit!.severity).toBe("error");
    expect(summary.errors).toBeGreaterThan(0);
  });
});

describe("the CLI", () => {
  const cli = (repo: string, ...args: string[]) => runCli(["validate", "--repo", repo, ...args]);
  it("exits 0 on a valid repository, 1 with findings as JSON and GitHub annotations", async () => {
    expect((await cli(base)).exitCode).toBe(0);
    const repo = await copyRepo();
    await edit(repo, "clusters/alpha/cluster.yaml", (s) => s.replace("replicas: 1", "replicas: 2"));
    const json = await cli(repo, "--format", "json");
    expect(json.exitCode).toBe(1);
    const parsed = JSON.parse(json.stdout) as { findings: Finding[]; summary: { errors: number } };
    expect(parsed.findings.some((f) => f.rule === "kcp-replicas-odd" && f.cluster === "alpha")).toBe(true);
    const gh = await cli(repo, "--format", "github", "alpha");
    expect(gh.exitCode).toBe(1);
    expect(gh.stdout).toMatch(
      /^::error file=clusters\/alpha\/cluster.yaml,title=kcp-replicas-odd \[alpha\]::controlPlane.replicas: /m,
    );
    expect((await cli(repo, "--format", "xml")).exitCode).toBe(2);
  });
});

describe("19: files generate would delete", () => {
  it(`19: a file in clusters/<name>/generated/ the generator does not make is reported as \
generated-unknown-file`, async () => {
    const repo = await copyRepo();
    await writeFile(path.join(repo, "clusters/alpha/generated/my-notes.yaml"), "# kept here by hand\n");
    const r = await validateCommand({ cwd: repo, clusters: ["alpha"], skipCel: true });
    const unknown = r.findings.filter((f) => f.rule === "generated-unknown-file");
    expect(unknown).toEqual([
      expect.objectContaining({ cluster: "alpha", file: "clusters/alpha/generated/my-notes.yaml", severity: "error" }),
    ]);
    expect(unknown[0]!.message).toMatch(/`npm run generate` deletes it; move it to clusters\/alpha\//);
    expect(r.summary.errors).toBeGreaterThan(0);
  });
});
