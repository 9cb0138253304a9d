/**
 * `npm run import` (issue 14): the seed document's clusterctl quickstart and Helm-chart shape (fixtures/import/),
 * and CAPA's own templates from the pinned module, raw (the tool substitutes clusterctl's variables). Each import runs
 * the real CLI in-process, which builds and validates the landed cluster; the assertions read the kustomize render of
 * clusters/<name> (what Argo CD / Flux apply), not the importer's internals, and a final `validate` covers them all.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCommand } from "../src/commands/generate.js";
import { importCommand } from "../src/commands/import.js";
import { validateCommand } from "../src/commands/validate.js";
import { InvalidInputError } from "../src/core/errors.js";
import { parseSpecObject, parseSpecText } from "../src/cluster-spec/parse.js";
import { formatFinding } from "../src/core/findings.js";
import { envsubst } from "../src/import/envsubst.js";
import { mapManifests } from "../src/import/map.js";
import { settleKept } from "../src/import/patches.js";
import fc from "fast-check";
import { get, type K8sObject } from "../src/k8s/object.js";
import { kustomizeBuild } from "../src/tools/kustomize.js";
import { goModDownload } from "../src/tools/go.js";
import { versions } from "../src/pins/versions.js";
import { parseYamlStream } from "../src/core/yaml.js";
import { ROOT, runCli, tempDir, treeHash } from "./helpers.js";

const FIXTURES = path.join(ROOT, "generator", "test", "fixtures", "import");
const QUICKSTART = path.join(FIXTURES, "seed-quickstart.yaml");
const HELM = path.join(FIXTURES, "seed-helm-machinepool.yaml");
const CONFIG =
  "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\n" +
  "repoURL: https://git.example.com/platform/capi-gitops.git\nbranch: main\ngitops: argocd\n";

/**
 * What a user exports before `clusterctl generate cluster` (CLUSTER_NAME and KUBERNETES_VERSION come from --name and
 * --kubernetes-version).
 */
const VARS = {
  AWS_REGION: "eu-west-1",
  AWS_AVAILABILITY_ZONE: "eu-west-1b",
  AWS_SSH_KEY_NAME: "platform-ops",
  AWS_CONTROL_PLANE_MACHINE_TYPE: "m6i.large",
  AWS_NODE_MACHINE_TYPE: "m6i.xlarge",
  CONTROL_PLANE_MACHINE_COUNT: "3",
  WORKER_MACHINE_COUNT: "4",
  AWS_S3_BUCKET_NAME: "ignition-bucket",
  KUBERNETES_VERSION: "v1.34.2",
};
const varFlags = (vars: Record<string, string> = VARS) =>
  Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}=${v}`]);

let repo: string;
let capa: string;
let cleanup: () => Promise<void>;
const renders = new Map<string, K8sObject[]>();

async function importCli(...args: string[]) {
  // The sources rely on CAPA's public images, published only in us-east-2 (issue 19): each import names its own.
  return runCli(["import", ...args, "--image-lookup-org", "123456789012", "--repo", repo]);
}
/** The cluster's render (kustomize build clusters/<name>), once per cluster. */
async function render(name: string): Promise<K8sObject[]> {
  if (!renders.has(name))
    renders.set(name, parseYamlStream(await kustomizeBuild(repo, `clusters/${name}`)) as K8sObject[]);
  return renders.get(name)!;
}
const one = (objs: K8sObject[], kind: string, name?: string | RegExp): K8sObject => {
  const found = objs.filter(
    (o) =>
      o.kind === kind &&
      (name === undefined || (typeof name === "string" ? o.metadata.name === name : name.test(o.metadata.name))),
  );
  if (found.length !== 1)
    throw new Error(
      `${found.length} ${kind} ${String(name ?? "")} in the render: ` +
        `${objs.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`,
    );
  return found[0]!;
};
const byRef = (objs: K8sObject[], ref: unknown): K8sObject =>
  one(objs, String(get(ref, "kind")), String(get(ref, "name")));
const args = (list: unknown) =>
  Object.fromEntries((list as { name: string; value: string }[]).map((a) => [a.name, a.value]));

beforeAll(async () => {
  const t = await tempDir("capi-gitops-import-");
  repo = t.dir;
  cleanup = t.cleanup;
  await writeFile(t.guard("capi-gitops.yaml"), CONFIG);
  const pin = versions().crds["cluster-api-provider-aws"]!;
  capa = path.join(await goModDownload(pin.module, pin.version), "templates");
});
afterAll(async () => cleanup?.());

describe("envsubst (clusterctl variable syntax)", () => {
  it.each([
    ["${A}", { A: "1" }, "1", []],
    ["${B:-x} ${B:=y}", {}, "x y", []],
    ["${D:-x} ${D-z}", { D: "" }, "x ", []],
    ["$${E} $(F)", {}, "${E} $(F)", []],
    ["${A:-no}", { A: "1" }, "1", []],
    ["${G} ${G} ${H}", {}, "${G} ${G} ${H}", ["G", "H"]],
  ])("%s", (text, vars, out, unresolved) => {
    const r = envsubst(text, vars);
    expect(r.text).toBe(out);
    expect(r.unresolved).toEqual(unresolved);
  });
});

describe("the seed document's clusterctl quickstart (v1beta1, us-east-1, 3 × t3.large, v1.23.3)", () => {
  it("is refused at v1.23.3 without --kubernetes-version: exit 1, nothing written", async () => {
    const before = await treeHash(repo);
    const r = await importCli("--file", QUICKSTART);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toContain("v1.23.3 is outside");
    expect(r.stderr).toContain("--kubernetes-version");
    expect(await treeHash(repo)).toBe(before);
  });

  it("--dry-run prints the report and the files and writes nothing", async () => {
    const before = await treeHash(repo);
    const r = await importCli("--file", QUICKSTART, "--kubernetes-version", "v1.34.2", "--dry-run");
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^mapped {2}AWSCluster\/capi-quickstart spec\.region: → region: us-east-1$/m);
    expect(r.stdout).toMatch(
      new RegExp(
        String.raw`^dropped KubeadmControlPlane/capi-quickstart-control-plane ` +
          String.raw`spec\.kubeadmConfigSpec\.clusterConfiguration\.apiServer\.extraArgs\.cloud-provider: "aws": ` +
          String.raw`the in-tree cloud provider`,
        "m",
      ),
    );
    expect(r.stdout).toMatch(/^note {4}Cluster\/capi-quickstart metadata\.namespace: "default" is reserved here/m);
    expect(r.stdout).toContain("# --- clusters/capi-quickstart/cluster.yaml");
    expect(r.stdout).toContain("dry run: nothing was written");
    expect(await treeHash(repo)).toBe(before);
  });

  it(`with --kubernetes-version v1.34.2: the render keeps region, replicas, instance types, \
worker count and SSH key`, async () => {
    const r = await importCli("--file", QUICKSTART, "--kubernetes-version", "v1.34.2");
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    const objs = await render("capi-quickstart");
    const cluster = one(objs, "Cluster");
    expect(cluster.metadata.namespace).toBe("capi-quickstart");
    expect(get(cluster, "spec.clusterNetwork.pods.cidrBlocks")).toEqual(["192.168.0.0/16"]);
    const aws = byRef(objs, get(cluster, "spec.infrastructureRef"));
    expect(get(aws, "spec.region")).toBe("us-east-1");
    expect(get(aws, "spec.sshKeyName")).toBe("default");
    const kcp = byRef(objs, get(cluster, "spec.controlPlaneRef"));
    expect(get(kcp, "spec.replicas")).toBe(3);
    expect(get(kcp, "spec.version")).toBe("v1.34.2");
    const cpMachine = byRef(objs, get(kcp, "spec.machineTemplate.spec.infrastructureRef"));
    expect(get(cpMachine, "spec.template.spec.instanceType")).toBe("t3.large");
    expect(get(cpMachine, "spec.template.spec.sshKeyName")).toBe("default");
    const mds = objs.filter((o) => o.kind === "MachineDeployment");
    expect(mds.reduce((n, md) => n + Number(get(md, "spec.replicas")), 0)).toBe(3);
    for (const md of mds) {
      expect(get(md, "spec.template.spec.version")).toBe("v1.34.2");
      expect(get(byRef(objs, get(md, "spec.template.spec.infrastructureRef")), "spec.template.spec.instanceType")).toBe(
        "t3.large",
      );
    }
    expect(mds.map((md) => get(md, "spec.template.spec.failureDomain")).sort()).toEqual([
      "us-east-1a",
      "us-east-1b",
      "us-east-1c",
    ]);
    // The in-tree provider is gone: every kubelet runs cloud-provider=external.
    expect(
      args(get(kcp, "spec.kubeadmConfigSpec.joinConfiguration.nodeRegistration.kubeletExtraArgs"))["cloud-provider"],
    ).toBe("external");
  });

  it("importing it again is refused: the cluster exists (exit 1)", async () => {
    const r = await importCli("--file", QUICKSTART, "--kubernetes-version", "v1.34.2");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("clusters/capi-quickstart already exists");
  });
});

describe("the seed document's Helm-chart shape (MachinePools, CAPI/CAPA v1beta1)", () => {
  it("maps pools, zones, sizes and labels, and keeps what the spec cannot say as patches in the render", async () => {
    const r = await importCli("--file", HELM);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^patch {3}AWSCluster\/seed-helm spec\.additionalTags\.cost-center/m);
    const spec = await readFile(path.join(repo, "clusters/seed-helm/cluster.yaml"), "utf8");
    expect(spec).toContain("namespace: team-a");
    const objs = await render("seed-helm");
    const aws = one(objs, "AWSCluster");
    expect(get(aws, "spec.region")).toBe("ap-northeast-2");
    expect(get(aws, "spec.network.vpc.cidrBlock")).toBe("10.40.0.0/16");
    expect(get(aws, "spec.additionalTags")).toEqual({ "cost-center": "team-a" });
    expect(get(aws, "spec.sshKeyName")).toBe("team-a-ops");
    expect(one(objs, "Cluster").metadata.labels?.team).toBe("platform");
    const kcp = one(objs, "KubeadmControlPlane");
    expect(get(kcp, "spec.replicas")).toBe(3);
    expect(get(kcp, "spec.version")).toBe("v1.33.4");
    expect(args(get(kcp, "spec.kubeadmConfigSpec.clusterConfiguration.apiServer.extraArgs"))).toEqual({
      "audit-log-maxage": "30",
    });
    expect(get(kcp, "spec.kubeadmConfigSpec.preKubeadmCommands")).toEqual(["echo team-a > /etc/team"]);
    const cpMachine = byRef(objs, get(kcp, "spec.machineTemplate.spec.infrastructureRef"));
    expect(get(cpMachine, "spec.template.spec.instanceType")).toBe("m6i.xlarge");
    expect(get(cpMachine, "spec.template.spec.rootVolume.size")).toBe(120);

    const general = one(objs, "MachinePool", "seed-helm-general");
    expect(general.metadata.annotations?.["cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size"]).toBe("2");
    expect(general.metadata.annotations?.["cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size"]).toBe("9");
    const generalAsg = byRef(objs, get(general, "spec.template.spec.infrastructureRef"));
    expect(get(generalAsg, "spec.awsLaunchTemplate.instanceType")).toBe("m6i.2xlarge");
    expect(get(generalAsg, "spec.awsLaunchTemplate.rootVolume.size")).toBe(200);
    expect(get(generalAsg, "spec.availabilityZones")).toEqual([
      "ap-northeast-2a",
      "ap-northeast-2b",
      "ap-northeast-2c",
    ]);
    expect(get(generalAsg, "spec.additionalTags")).toEqual({ pool: "general" });
    const generalKubelet = args(
      get(
        byRef(objs, get(general, "spec.template.spec.bootstrap.configRef")),
        "spec.joinConfiguration.nodeRegistration.kubeletExtraArgs",
      ),
    );
    expect(generalKubelet).toEqual({
      "cloud-provider": "external",
      "node-labels": "workload=general",
      "max-pods": "58",
    });

    const batch = one(objs, "MachinePool", "seed-helm-batch");
    expect(get(batch, "spec.replicas")).toBe(2);
    const batchAsg = byRef(objs, get(batch, "spec.template.spec.infrastructureRef"));
    expect([get(batchAsg, "spec.minSize"), get(batchAsg, "spec.maxSize")]).toEqual([0, 4]);
    expect(get(batchAsg, "spec.availabilityZones")).toEqual(["ap-northeast-2a", "ap-northeast-2c"]);
    expect(get(batchAsg, "spec.awsLaunchTemplate.instanceType")).toBe("c6i.xlarge");
    expect(
      args(
        get(
          byRef(objs, get(batch, "spec.template.spec.bootstrap.configRef")),
          "spec.joinConfiguration.nodeRegistration.kubeletExtraArgs",
        ),
      )["node-labels"],
    ).toBe("workload=batch");
  });
});

describe("a kept field the management cluster would reject", () => {
  it("fails the validation of the landed cluster: exit 1, and everything is rolled back", async () => {
    const scratch = await tempDir("capi-gitops-import-bad-");
    try {
      const text = (await readFile(HELM, "utf8")).replace(
        "  additionalTags:\n    cost-center: team-a\n",
        "  additionalTags:\n    cost-center: team-a\n  bastion:\n    enabled: maybe\n",
      );
      expect(text).toContain("enabled: maybe");
      await writeFile(scratch.guard("bad.yaml"), text);
      const before = await treeHash(repo);
      const r = await importCli(
        "--file",
        scratch.guard("bad.yaml"),
        "--name",
        "bad-bastion",
        "--namespace",
        "bad-bastion",
      );
      expect(r.exitCode, r.stderr + r.stdout).toBe(1);
      expect(r.stdout).toMatch(/^patch {3}AWSCluster\/seed-helm spec\.bastion\.enabled: "maybe"/m);
      expect(r.stderr).toContain("spec.bastion.enabled");
      expect(r.stderr).toContain("nothing was written");
      expect(await treeHash(repo)).toBe(before);
    } finally {
      await scratch.cleanup();
    }
  });
});

describe(`CAPA's own templates (pinned ${versions().crds["cluster-api-provider-aws"]?.version}), raw: \
import substitutes clusterctl's variables`, () => {
  it.each([
    ["capa-default", "cluster-template.yaml", "MachineDeployment"],
    ["capa-machinepool", "cluster-template-machinepool.yaml", "MachinePool"],
  ])(
    "%s (%s): the render keeps region, zone, replicas, instance types, workers and SSH key",
    async (name, file, kind) => {
      const r = await importCli("--file", path.join(capa, file), "--name", name, ...varFlags());
      expect(r.exitCode, r.stderr + r.stdout).toBe(0);
      const objs = await render(name);
      const aws = one(objs, "AWSCluster");
      expect(get(aws, "spec.region")).toBe("eu-west-1");
      expect(get(aws, "spec.sshKeyName")).toBe("platform-ops");
      const kcp = one(objs, "KubeadmControlPlane");
      expect([get(kcp, "spec.replicas"), get(kcp, "spec.version")]).toEqual([3, "v1.34.2"]);
      expect(
        get(byRef(objs, get(kcp, "spec.machineTemplate.spec.infrastructureRef")), "spec.template.spec.instanceType"),
      ).toBe("m6i.large");
      const workers = objs.filter((o) => o.kind === kind);
      expect(workers.reduce((n, w) => n + Number(get(w, "spec.replicas")), 0)).toBe(4);
      if (kind === "MachinePool") {
        const asg = byRef(objs, get(workers[0], "spec.template.spec.infrastructureRef"));
        expect(get(asg, "spec.availabilityZones")).toEqual(["eu-west-1b"]);
        expect([get(asg, "spec.minSize"), get(asg, "spec.maxSize")]).toEqual([1, 10]);
        expect(get(asg, "spec.awsLaunchTemplate.instanceType")).toBe("m6i.xlarge");
      } else
        for (const md of workers)
          expect(
            get(byRef(objs, get(md, "spec.template.spec.infrastructureRef")), "spec.template.spec.instanceType"),
          ).toBe("m6i.xlarge");
      // The template's EBS CSI driver is kept as the repository's own (storage: ebs).
      expect(objs.some((o) => o.kind === "ClusterResourceSet" && o.metadata.name.includes("csi"))).toBe(true);
    },
    180_000,
  );

  it.each([
    ["cluster-template-ipv6.yaml", "IPv6 and dual-stack clusters cannot be imported"],
    ["cluster-template-dualstack-ipv4-primary.yaml", "IPv6 and dual-stack clusters cannot be imported"],
    ["cluster-template-dualstack-ipv6-primary.yaml", "IPv6 and dual-stack clusters cannot be imported"],
    ["cluster-template-flatcar.yaml", "Ignition bootstrap (Flatcar) cannot be imported"],
    ["cluster-template-flatcar-machinepool.yaml", "Ignition bootstrap (Flatcar) cannot be imported"],
    ["cluster-template-eks.yaml", "AWSManagedControlPlane cannot be imported"],
    ["cluster-template-eks-machinepool.yaml", "AWSManagedControlPlane cannot be imported"],
    ["cluster-template-simple-clusterclass.yaml", "a ClusterClass (topology) cluster cannot be imported"],
  ])("%s is refused with its reason (exit 1, nothing written)", async (file, reason) => {
    const before = await treeHash(repo);
    const r = await importCli(
      "--file",
      path.join(capa, file),
      "--name",
      "refused",
      ...varFlags({ ...VARS, EKS_CLUSTER_NAME: "x", CNI_RESOURCES: "x" }),
    );
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toContain(reason);
    expect(r.stderr).toContain("nothing was written");
    expect(await treeHash(repo)).toBe(before);
  });

  it(`a raw template with a variable left unset is refused, naming it (the environment is the command's input: \
empty here)`, async () => {
    const { AWS_REGION: _, ...rest } = VARS;
    const vars = Object.entries(rest).map(([k, v]) => `${k}=${v}`);
    const err = await importCommand({
      cwd: repo,
      file: path.join(capa, "cluster-template.yaml"),
      name: "unset",
      vars,
      env: {},
      log: () => {},
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).findings.map((f) => f.message).join("\n")).toContain(
      "clusterctl variables without a value: AWS_REGION",
    );
  });
});

describe("round trip: the render of a cluster this repository generated (CAPI/CAPA v1beta2)", () => {
  const ORIGIN = [
    "apiVersion: capi-gitops.io/v1alpha1",
    "kind: ClusterSpec",
    "name: origin",
    "region: us-east-2",
    "availabilityZones: [us-east-2a, us-east-2b]",
    "kubernetesVersion: v1.33.4",
    // MachinePools: import maps a MachinePool back to one pool (MachineDeployments come back one pool per zone).
    "workers: MachinePool",
    "controlPlane: { replicas: 5, instanceType: m6i.large }",
    "nodePools:",
    // Mixed, multi-type spot, single-type spot with a price, taints, and a GPU pool (default taint; one without).
    "  - { name: web, instanceType: m6i.xlarge, minSize: 2, maxSize: 6, labels: { tier: web }, " +
      "taints: [{ key: dedicated, value: web, effect: NoSchedule }, " +
      "{ key: example.com/slow, effect: PreferNoSchedule }], capacityType: mixed, " +
      "instanceTypes: [m5.xlarge, m7i.xlarge], onDemandBase: 1, onDemandPercentageAboveBase: 25, " +
      "spotAllocationStrategy: capacity-optimized }",
    "  - { name: jobs, instanceType: c6i.large, availabilityZones: [us-east-2b], autoscaling: false, " +
      "minSize: 1, maxSize: 4, replicas: 3, kubernetesVersion: v1.32.9, capacityType: spot, spotMaxPrice: '0.08' }",
    "  - { name: batch, instanceType: c6i.large, minSize: 0, maxSize: 3, capacityType: spot, " +
      "instanceTypes: [c5.large], spotAllocationStrategy: price-capacity-optimized }",
    "  - { name: gpu, instanceType: g5.xlarge, minSize: 0, maxSize: 2 }",
    "  - { name: gpu-open, instanceType: g6.xlarge, minSize: 0, maxSize: 1, taints: [] }",
    "network: { vpcCidr: 10.12.0.0/16, podCidr: 172.16.0.0/16, serviceCidr: 10.100.0.0/16 }",
    // Its own images, as importCli names them (CAPA publishes none for the jobs pool's v1.32.9).
    'image: { lookupOrg: "123456789012" }',
    "sshKeyName: ops",
    "",
  ].join("\n");

  it("imports back to the same spec, with no patch (every kept field is what the render already has)", async () => {
    const scratch = await tempDir("capi-gitops-import-origin-");
    try {
      await writeFile(scratch.guard("capi-gitops.yaml"), CONFIG);
      await mkdir(scratch.guard("clusters/origin"), { recursive: true });
      await writeFile(scratch.guard("clusters/origin/cluster.yaml"), ORIGIN);
      await generateCommand({ cwd: scratch.dir, log: () => {} });
      await writeFile(scratch.guard("origin.yaml"), await kustomizeBuild(scratch.dir, "clusters/origin"));
      const r = await importCli("--file", scratch.guard("origin.yaml"));
      expect(r.exitCode, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).not.toMatch(/^patch /m);
      expect(r.stdout).toMatch(/^mapped {2}AWSCluster\/origin spec\.network\.subnets: .*already has it$/m);
      const imported = parseSpecText(await readFile(path.join(repo, "clusters/origin/cluster.yaml"), "utf8"));
      const original = parseSpecText(ORIGIN);
      expect(imported.findings).toEqual([]);
      // The pools in the render's order (kustomize sorts the objects); the order of nodePools means nothing.
      const byName = (spec: typeof imported.spec) =>
        spec && { ...spec, nodePools: [...spec.nodePools].sort((a, b) => (a.name < b.name ? -1 : 1)) };
      expect(byName(imported.spec)).toEqual(byName(original.spec));
      expect(await readFile(path.join(repo, "clusters/origin/kustomization.yaml"), "utf8")).toContain("patches: []");
    } finally {
      await scratch.cleanup();
    }
  });
});

describe("round trip with an account identity, a bastion and an internal API (AWSCluster identityRef, bastion)", () => {
  const spec = (name: string, extra: string[]) =>
    [
      "apiVersion: capi-gitops.io/v1alpha1",
      "kind: ClusterSpec",
      `name: ${name}`,
      "region: us-east-2",
      "kubernetesVersion: v1.33.4",
      "workers: MachinePool",
      'image: { lookupOrg: "123456789012" }',
      ...extra,
      "",
    ].join("\n");
  const ROLE = spec("ident-role", [
    "identity: { roleArn: arn:aws:iam::111122223333:role/capa-workload }",
    "access: bastion",
    "bastion: { allowedCidrs: [203.0.113.0/24], instanceType: t3.small }",
    "sshKeyName: ops",
    "apiServer: { scheme: internal, managementReachAcknowledged: true }",
    "network: { vpcCidr: 10.41.0.0/16 }",
  ]);
  const STATIC = spec("ident-static", [
    'identity: { secretRef: capa-static, account: "444455556666" }',
    "access: ssm",
    "network: { vpcCidr: 10.42.0.0/16 }",
  ]);

  /** The cluster's render and the identities it references (management/identities), as one source file. */
  async function source(name: string, text: string): Promise<string> {
    const scratch = await tempDir("capi-gitops-import-identity-");
    try {
      await writeFile(scratch.guard("capi-gitops.yaml"), CONFIG);
      await mkdir(scratch.guard(`clusters/${name}`), { recursive: true });
      await writeFile(scratch.guard(`clusters/${name}/cluster.yaml`), text);
      await generateCommand({ cwd: scratch.dir, log: () => {} });
      const file = scratch.guard(`${name}.yaml`);
      await writeFile(
        file,
        `${await kustomizeBuild(scratch.dir, `clusters/${name}`)}---\n` +
          (await kustomizeBuild(scratch.dir, "management/identities")),
      );
      // Kept outside the scratch folder, which is removed.
      const out = path.join(repo, `${name}.source.yaml`);
      await writeFile(out, await readFile(file, "utf8"));
      return out;
    } finally {
      await scratch.cleanup();
    }
  }

  it("imports the role identity, the bastion and the internal API back to the same spec, with no patch", async () => {
    const r = await importCli("--file", await source("ident-role", ROLE));
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).not.toMatch(/^patch /m);
    expect(r.stdout).toMatch(/spec\.roleARN: → identity\.roleArn: arn:aws:iam::111122223333:role\/capa-workload/);
    const imported = parseSpecText(await readFile(path.join(repo, "clusters/ident-role/cluster.yaml"), "utf8"));
    expect(imported.findings).toEqual([]);
    expect(imported.spec).toEqual(parseSpecText(ROLE).spec);
    const identities = await readFile(path.join(repo, "management/identities/identities.yaml"), "utf8");
    // The identity selects the namespaces labelled for it: the imported cluster's own Namespace carries the label.
    const label = /identity\.capi-gitops\.io\/[a-z0-9-]+: allowed/.exec(identities)?.[0];
    expect(identities).toMatch(/kind: AWSClusterRoleIdentity/);
    expect(label).toBeDefined();
    const ns = await readFile(path.join(repo, "clusters/ident-role/generated/namespace.yaml"), "utf8");
    expect(ns).toContain(label);
  });

  it("a static identity needs --identity-account (the manifests do not say it); with it, the same spec", async () => {
    const file = await source("ident-static", STATIC);
    const without = await importCli("--file", file, "--dry-run");
    expect(without.exitCode).toBe(1);
    expect(without.stderr).toMatch(/AWSClusterStaticIdentity\/static-capa-static:spec\.secretRef.*--identity-account/);
    const r = await importCli("--file", file, "--identity-account", "444455556666");
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    const imported = parseSpecText(await readFile(path.join(repo, "clusters/ident-static/cluster.yaml"), "utf8"));
    // access: ssm has no upstream field of its own (it is the IAM bootstrap's): it comes back as none.
    expect(imported.spec).toEqual({ ...parseSpecText(STATIC).spec, access: "none" });
  });

  it("an identityRef to an identity the file does not hold is refused, naming the field", () => {
    const docs = parseYamlStream(
      [
        "apiVersion: cluster.x-k8s.io/v1beta2",
        "kind: Cluster",
        "metadata: { name: x }",
        "spec:",
        "  infrastructureRef: { apiGroup: infrastructure.cluster.x-k8s.io, kind: AWSCluster, name: x }",
        "  controlPlaneRef: { apiGroup: controlplane.cluster.x-k8s.io, kind: KubeadmControlPlane, name: x }",
        "---",
        "apiVersion: infrastructure.cluster.x-k8s.io/v1beta2",
        "kind: AWSCluster",
        "metadata: { name: x }",
        "spec: { region: us-east-2, identityRef: { kind: AWSClusterRoleIdentity, name: gone } }",
        "---",
        "apiVersion: controlplane.cluster.x-k8s.io/v1beta2",
        "kind: KubeadmControlPlane",
        "metadata: { name: x }",
        "spec: { replicas: 1, version: v1.33.4 }",
      ].join("\n"),
    );
    const r = mapManifests(docs, { file: "x.yaml" }, parseYamlStream);
    expect(r.findings.map((f) => `${f.path} ${f.message}`)).toContainEqual(
      expect.stringMatching(/^AWSCluster\/x:spec\.identityRef the AWSClusterRoleIdentity it references \(gone\)/),
    );
  });
});

describe("the mapping (pure)", () => {
  const docs = async (file: string) => parseYamlStream(await readFile(file, "utf8"));
  it("maps a pool's Kubernetes version when it differs from the control plane's", async () => {
    const objs = (await docs(HELM)) as K8sObject[];
    const batch = objs.find((o) => o.kind === "MachinePool" && o.metadata.name === "seed-helm-batch")!;
    (batch.spec as { template: { spec: { version: string } } }).template.spec.version = "v1.32.9";
    const m = mapManifests(objs, { file: "x.yaml" }, parseYamlStream);
    expect(m.findings).toEqual([]);
    expect(
      (m.spec?.nodePools as { name: string; kubernetesVersion?: string }[]).map((p) => [p.name, p.kubernetesVersion]),
    ).toEqual([
      ["general", undefined],
      ["batch", "v1.32.9"],
    ]);
  });
  it(`spreads a MachineDeployment pool over the zones it has room for; \
a failureDomain is the pool's zone`, async () => {
    const objs = (await docs(QUICKSTART)) as K8sObject[];
    const md = objs.find((o) => o.kind === "MachineDeployment")!;
    md.metadata.annotations = {
      "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size": "1",
      "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size": "2",
    };
    const autoscaled = mapManifests(objs, { file: "x.yaml", kubernetesVersion: "v1.34.2" }, parseYamlStream);
    expect(autoscaled.spec?.nodePools).toEqual([
      expect.objectContaining({
        autoscaling: true,
        minSize: 1,
        maxSize: 2,
        availabilityZones: ["us-east-1a", "us-east-1b"],
      }),
    ]);
    delete md.metadata.annotations;
    (md.spec as { template: { spec: Record<string, unknown> } }).template.spec.failureDomain = "us-east-1d";
    const pinned = mapManifests(objs, { file: "x.yaml", kubernetesVersion: "v1.34.2" }, parseYamlStream);
    expect(pinned.spec?.availabilityZones).toEqual(["us-east-1d"]);
    expect(pinned.spec?.nodePools).toEqual([
      expect.objectContaining({
        autoscaling: false,
        replicas: 3,
        minSize: 3,
        maxSize: 3,
        availabilityZones: ["us-east-1d"],
      }),
    ]);
  });

  it("maps a clusterctl manifest's spot machines and worker taints to the pool (none left as a patch)", async () => {
    const objs = (await docs(QUICKSTART)) as K8sObject[];
    const tpl = objs.find((o) => o.kind === "AWSMachineTemplate" && o.metadata.name === "capi-quickstart-md-0")!;
    (tpl.spec as { template: { spec: Record<string, unknown> } }).template.spec.spotMarketOptions = { maxPrice: "0.1" };
    const kct = objs.find((o) => o.kind === "KubeadmConfigTemplate")!;
    const reg = (
      kct.spec as { template: { spec: { joinConfiguration: { nodeRegistration: Record<string, unknown> } } } }
    ).template.spec.joinConfiguration.nodeRegistration;
    reg.taints = [{ key: "example.com/spot", value: "true", effect: "NoSchedule" }];
    const m = mapManifests(objs, { file: "x.yaml", kubernetesVersion: "v1.34.2" }, parseYamlStream);
    expect(m.findings).toEqual([]);
    expect(m.spec?.nodePools).toEqual([
      expect.objectContaining({
        capacityType: "spot",
        spotMaxPrice: "0.1",
        taints: [{ key: "example.com/spot", value: "true", effect: "NoSchedule" }],
      }),
    ]);
    expect(m.kept.filter((k) => k.keys.includes("spotMarketOptions") || k.keys.includes("taints"))).toEqual([]);
  });

  it(`20.6: a null sshKeyName (\`sshKeyName:\`, or \`\${AWS_SSH_KEY_NAME}\` substituted empty) is absent: \
CAPA's "default", no patch`, async () => {
    const text = await readFile(QUICKSTART, "utf8");
    expect(text.match(/sshKeyName: default/g)).toHaveLength(3);
    const written = [
      text.replaceAll("sshKeyName: default", "sshKeyName:"),
      envsubst(text.replaceAll("sshKeyName: default", "sshKeyName: ${AWS_SSH_KEY_NAME}"), { AWS_SSH_KEY_NAME: "" })
        .text,
    ];
    for (const source of written) {
      const m = mapManifests(
        parseYamlStream(source),
        { file: "x.yaml", kubernetesVersion: "v1.34.2" },
        parseYamlStream,
      );
      expect(m.findings).toEqual([]);
      expect(m.spec?.sshKeyName).toBe("default");
      expect(m.kept.filter((k) => k.keys.includes("sshKeyName"))).toEqual([]);
      expect(JSON.stringify(m.kept)).not.toContain("null");
    }
  });

  it(`takes the namespace from --namespace, else the source's unless reserved (the quickstart's default), \
else the name`, async () => {
    const quickstart = await docs(QUICKSTART);
    const helm = await docs(HELM);
    const ns = (objs: unknown[], namespace?: string) =>
      mapManifests(objs, { file: "x.yaml", kubernetesVersion: "v1.34.2", namespace }, parseYamlStream).spec?.namespace;
    expect([ns(quickstart), ns(helm), ns(helm, "team-b")]).toEqual([undefined, "team-a", "team-b"]);
  });

  it("drops CAPI v1beta1 fields whose v1beta2 form differs, saying where to add them", async () => {
    const objs = (await docs(QUICKSTART)) as K8sObject[];
    const md = objs.find((o) => o.kind === "MachineDeployment")!;
    (md.spec as { template: { spec: Record<string, unknown> } }).template.spec.nodeDrainTimeout = "5m";
    const m = mapManifests(objs, { file: "x.yaml", kubernetesVersion: "v1.34.2" }, parseYamlStream);
    expect(m.report).toContainEqual(
      expect.objectContaining({
        action: "dropped",
        source: "MachineDeployment/capi-quickstart-md-0",
        field: "spec.template.spec.nodeDrainTimeout",
        detail: expect.stringContaining("add it by hand in v1beta2 form"),
      }),
    );
    expect(m.kept).toEqual([]);
  });

  it(`never throws: arbitrary documents, and the quickstart with any field replaced by any value, \
give a spec or findings`, async () => {
    const quickstart = await docs(QUICKSTART);
    const paths = (v: unknown, at: (string | number)[] = []): (string | number)[][] =>
      v !== null && typeof v === "object"
        ? [at, ...Object.entries(v).flatMap(([k, x]) => paths(x, [...at, Array.isArray(v) ? Number(k) : k]))]
        : [at];
    const all = quickstart.flatMap((d, i) => paths(d, [i]));
    const check = (input: unknown[]) => {
      const m = mapManifests(input, { file: "x.yaml", kubernetesVersion: "v1.34.2" }, parseYamlStream);
      if (!m.spec && m.findings.length === 0) throw new Error("neither a spec nor findings");
      const spec = m.spec && parseSpecObject(m.spec).spec;
      if (spec) settleKept(spec, m.kept);
    };
    fc.assert(
      fc.property(fc.array(fc.anything()), (input) => check(input)),
      { numRuns: 300, seed: 14 },
    );
    fc.assert(
      fc.property(fc.constantFrom(...all), fc.anything(), (at, value) => {
        const input = structuredClone<unknown[]>(quickstart);
        if (at.length === 1) input[at[0] as number] = value;
        else {
          const parent = at.slice(1, -1).reduce<any>((o, k) => o[k], input[at[0] as number]);
          parent[at.at(-1)!] = value;
        }
        check(input);
      }),
      { numRuns: 500, seed: 14 },
    );
  });

  it("refuses a file with two Clusters, or without one", async () => {
    const objs = await docs(QUICKSTART);
    expect(mapManifests([...objs, objs[0]], { file: "x.yaml" }, parseYamlStream).findings[0]?.message).toContain(
      "2 Clusters in the file",
    );
    expect(mapManifests(objs.slice(1), { file: "x.yaml" }, parseYamlStream).findings[0]?.message).toContain(
      "no Cluster",
    );
  });
});

describe("import --help and the final validate", () => {
  it("--help lists every flag", async () => {
    const r = await runCli(["import", "--help"]);
    expect(r.exitCode).toBe(0);
    for (const f of ["--file", "--name", "--kubernetes-version", "--var", "--dry-run"]) expect(r.stdout).toContain(f);
  });

  it("`validate` over the repository: every imported cluster validates", async () => {
    const result = await validateCommand({ cwd: repo });
    // The five above, and the two of the identity round trip.
    expect(result.summary.clusters).toBe(7);
    expect(result.findings.filter((f) => f.severity === "error").map(formatFinding)).toEqual([]);
  });
});
