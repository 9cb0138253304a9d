/**
 * Issue #11 part "images": machine images (spec → the kustomize output, template rotation), CAPA's published-image
 * inventory and the validate rules on it, API endpoint access, the MachinePoolMachines gate, and the clusterawsadm
 * bootstrap configuration (accepted by the real, pinned clusterawsadm).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSpecObject } from "../src/cluster-spec/parse.js";
import type { ClusterSpec } from "../src/cluster-spec/types.js";
import { planIam } from "../src/plan/iam.js";
import { providerObjects } from "../src/plan/providers.js";
import { planRepo } from "../src/plan/repo.js";
import { writeTree } from "../src/repo/write.js";
import {
  IMAGE_INVENTORY_FILE,
  IMAGE_INVENTORY_SOURCE,
  type ImageInventory,
  parseImageInventory,
} from "../src/schemas/ami-inventory.js";
import { printCloudFormationTemplate } from "../src/tools/clusterawsadm.js";
import { goModDownload } from "../src/tools/go.js";
import { kustomizeBuild } from "../src/tools/kustomize.js";
import { imageRules } from "../src/validate/images.js";
import type { RenderedCluster } from "../src/render/render.js";
import { versions } from "../src/pins/versions.js";
import { parseYamlStream } from "../src/core/yaml.js";
import { ROOT, tempDir } from "./helpers.js";

type Obj = { apiVersion: string; kind: string; metadata: { name: string }; spec: any };

function spec(input: Record<string, unknown>): ClusterSpec {
  const r = parseSpecObject({ apiVersion: "capi-gitops.io/v1alpha1", kind: "ClusterSpec", ...input });
  if (!r.spec || r.findings.some((f) => f.severity === "error")) throw new Error(JSON.stringify(r.findings));
  return r.spec;
}
/** The cluster own: its own AMI, which names its kubelet version. */
const OWN = {
  name: "own",
  region: "ap-northeast-2",
  kubernetesVersion: "v1.34.2",
  profile: "prod",
  workers: "MachinePool",
  image: { id: "ami-0123456789abcdef0", kubernetesVersion: "v1.34.2" },
  apiServer: { allowedCidrs: ["203.0.113.0/24"] },
};
/** The MachineDeployment cluster md on the images of `lookupBaseOS`, its pool b on an own AMI. */
const mdSpec = (lookupBaseOS: string) =>
  spec({
    name: "md",
    region: "eu-west-1",
    workers: "MachineDeployment",
    image: { lookupOrg: "123456789012", lookupBaseOS },
    nodePools: [{ name: "a" }, { name: "b", image: { id: "ami-0aaaaaaaaaaaaaaaa", kubernetesVersion: "v1.34.8" } }],
  });

const inventory = JSON.parse(readFileSync(path.join(ROOT, IMAGE_INVENTORY_FILE), "utf8")) as ImageInventory;

const SPECS = {
  seoul: spec({ name: "seoul", region: "ap-northeast-2", kubernetesVersion: "v1.34.2" }),
  seoulProd: spec({
    name: "seoul-prod",
    region: "ap-northeast-2",
    kubernetesVersion: "v1.34.2",
    profile: "prod",
    workers: "MachinePool",
  }),
  ohio: spec({ name: "ohio", region: "us-east-2", kubernetesVersion: "v1.34.8" }),
  own: spec(OWN),
  md: mdSpec("flatcar-stable"),
  md2: mdSpec("ubuntu-24.04"),
  internal: spec({
    name: "internal",
    region: "us-east-2",
    kubernetesVersion: "v1.34.8",
    profile: "prod",
    apiServer: { scheme: "internal", managementReachAcknowledged: true },
  }),
};
const rendered = new Map<string, Obj[]>();
let cleanup: () => Promise<void>;

async function build(specs: ClusterSpec[]): Promise<Obj[][]> {
  const t = await tempDir();
  try {
    await writeTree(t.dir, planRepo({ specs }, versions()));
    return await Promise.all(
      specs.map(async (s) => parseYamlStream(await kustomizeBuild(t.dir, `clusters/${s.name}`)) as Obj[]),
    );
  } finally {
    await t.cleanup();
  }
}

beforeAll(async () => {
  const t = await tempDir();
  cleanup = t.cleanup;
  const specs = Object.values(SPECS).filter((s) => s !== SPECS.md2);
  await writeTree(t.dir, planRepo({ specs }, versions()));
  for (const s of specs)
    rendered.set(s.name, parseYamlStream(await kustomizeBuild(t.dir, `clusters/${s.name}`)) as Obj[]);
});
afterAll(() => cleanup?.());

const of = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);
const rc = (name: string): RenderedCluster => {
  const objects = rendered.get(name)! as never[];
  return { cluster: name, objects, origins: objects.map(() => undefined) };
};

describe("CAPA's published-image inventory", () => {
  it("is read from the pinned CAPA module and the committed file is what `npm run schemas` makes from it", async () => {
    const pin = versions().crds["cluster-api-provider-aws"]!;
    const dir = await goModDownload(pin.module, pin.version);
    const parsed = parseImageInventory(
      readFileSync(path.join(dir, IMAGE_INVENTORY_SOURCE), "utf8"),
      `${pin.module}@${pin.version}`,
    );
    expect(parsed).toEqual(inventory);
    expect(parsed.owner).toBe("819546954734");
    expect(
      parsed.images.some((i) => i.version === "v1.34.8" && i.region === "us-east-2" && i.os === "ubuntu-24.04"),
    ).toBe(true);
    expect(parsed.images.some((i) => i.version === "v1.34.2")).toBe(false);
  });
  it("refuses a document without the table", () => {
    expect(() => parseImageInventory("# nothing", "x")).toThrow(/Existing AMIs/);
  });
});

describe("machine images in the kustomize output", () => {
  it("no image: no ami/lookup fields (CAPA's public lookup)", () => {
    const objs = rendered.get("seoul")!;
    for (const t of of(objs, "AWSMachineTemplate")) expect(t.spec.template.spec.ami).toBeUndefined();
    for (const p of of(objs, "AWSMachinePool")) expect(p.spec.awsLaunchTemplate.ami).toBeUndefined();
  });
  it("image.id reaches the control plane's template and the MachinePool's launch template", () => {
    const objs = rendered.get("own")!;
    expect(of(objs, "AWSMachineTemplate").map((t) => t.spec.template.spec.ami)).toEqual([
      { id: "ami-0123456789abcdef0" },
    ]);
    expect(of(objs, "AWSMachinePool").map((p) => p.spec.awsLaunchTemplate.ami)).toEqual([
      { id: "ami-0123456789abcdef0" },
    ]);
  });
  it("lookup fields reach the templates; a pool's image replaces the cluster's", () => {
    const objs = rendered.get("md")!;
    const md = of(objs, "MachineDeployment");
    const templateOf = (pool: string) =>
      of(objs, "AWSMachineTemplate").find(
        (t) =>
          t.metadata.name ===
          md.find((m) => m.metadata.name.startsWith(`md-${pool}-`))!.spec.template.spec.infrastructureRef.name,
      )!;
    expect(templateOf("a").spec.template.spec).toMatchObject({
      imageLookupOrg: "123456789012",
      imageLookupBaseOS: "flatcar-stable",
    });
    expect(templateOf("b").spec.template.spec.ami).toEqual({ id: "ami-0aaaaaaaaaaaaaaaa" });
    expect(templateOf("b").spec.template.spec.imageLookupOrg).toBeUndefined();
    const cp = of(objs, "AWSMachineTemplate").find((t) => t.metadata.name.startsWith("md-control-plane-"))!;
    expect(cp.spec.template.spec).toMatchObject({
      imageLookupOrg: "123456789012",
      imageLookupBaseOS: "flatcar-stable",
    });
  });
  it("changing the image rotates the template names (and the MachineDeployments follow)", async () => {
    const [after] = await build([SPECS.md2]);
    const names = (objs: Obj[]) =>
      of(objs, "AWSMachineTemplate")
        .map((t) => t.metadata.name)
        .sort();
    const before = names(rendered.get("md")!);
    const now = names(after!);
    // Pool a and the control plane take the cluster image (changed); pool b keeps its own.
    expect(now.filter((n) => !before.includes(n))).toHaveLength(2);
    expect(now.filter((n) => n.startsWith("md-b-"))).toEqual(before.filter((n) => n.startsWith("md-b-")));
    for (const m of of(after!, "MachineDeployment")) expect(now).toContain(m.spec.template.spec.infrastructureRef.name);
  });
  it("refuses an id together with lookup fields", () => {
    const r = parseSpecObject({
      apiVersion: "capi-gitops.io/v1alpha1",
      kind: "ClusterSpec",
      name: "x",
      region: "us-east-2",
      image: { id: "ami-0123456789abcdef0", lookupOrg: "123456789012" },
    });
    expect(r.findings.map((f) => f.rule)).toContain("image-id-or-lookup");
  });
});

describe("validate: clusters relying on CAPA's public lookup", () => {
  it(`v1.34.2 in ap-northeast-2 has no published image: an error for dev too (issue 19), \
saying in one line how to get one`, () => {
    const f = imageRules(rc("seoul"), inventory, "dev", "clusters/seoul/cluster.yaml").filter(
      (x) => x.rule === "image-published",
    );
    expect(f.length).toBeGreaterThan(0);
    expect(f.every((x) => x.severity === "error")).toBe(true);
    expect(f[0]!.message).toContain("v1.34.2");
    expect(f[0]!.message).toContain("ap-northeast-2");
    expect(f[0]!.message).toContain("published there: none");
    expect(f[0]!.message).not.toContain("\n");
    for (const way of [
      "image-builder",
      "--image-lookup-org",
      "--image-id",
      "--region us-east-2 --kubernetes-version v1.34.8",
    ])
      expect(f[0]!.message).toContain(way);
  });
  it("an error for prod, on the control plane and on the pool", () => {
    const f = imageRules(rc("seoul-prod"), inventory, "prod", "x").filter((x) => x.rule === "image-published");
    expect(f.map((x) => x.severity)).toEqual(["error", "error"]);
    expect(f.map((x) => (x.path ?? "").split("/")[0]).sort()).toEqual(["AWSMachinePool", "AWSMachineTemplate"]);
  });
  it("a published (version, region) and an own image are fine", () => {
    expect(imageRules(rc("ohio"), inventory, "prod", "x").filter((x) => x.rule === "image-published")).toEqual([]);
    expect(imageRules(rc("own"), inventory, "prod", "x")).toEqual([]);
    expect(imageRules(rc("md"), inventory, "dev", "x")).toEqual([]);
  });
});

// --- h-images: issue 19 item 2 ---
describe("validate: a fixed image must hold the version its machines run", () => {
  const ANN = "capi-gitops.io/image-kubernetes-version";
  it("the spec's image.kubernetesVersion reaches the templates as an annotation, outside the hash name", async () => {
    const objs = rendered.get("own")!;
    for (const o of [...of(objs, "AWSMachineTemplate"), ...of(objs, "AWSMachinePool")])
      expect((o.metadata as any).annotations[ANN]).toBe("v1.34.2");
    // Restating the version changes no template name (nothing rolls).
    const other = spec(OWN);
    const [again] = await build([other]);
    expect(of(again!, "AWSMachineTemplate").map((t) => t.metadata.name)).toEqual(
      of(objs, "AWSMachineTemplate").map((t) => t.metadata.name),
    );
  });
  it("the render's version differs from the image's (a patch set it): an error; the same version: none", () => {
    expect(imageRules(rc("own"), inventory, "prod", "x").filter((f) => f.rule === "image-version")).toEqual([]);
    const objects = structuredClone(rendered.get("own")!) as any[];
    objects.find((o) => o.kind === "KubeadmControlPlane").spec.version = "v1.35.0";
    const f = imageRules(
      { cluster: "own", objects, origins: objects.map(() => undefined) },
      inventory,
      "prod",
      "x",
    ).filter((x) => x.rule === "image-version");
    expect(f).toMatchObject([{ severity: "error", path: expect.stringMatching(/^AWSMachineTemplate\//) }]);
    expect(f[0]!.message).toContain("holds Kubernetes v1.34.2, but KubeadmControlPlane own-control-plane runs v1.35.0");
    // An AMI id that no spec states a version for (e.g. set by a patch): an error too.
    delete objects.find((o) => o.kind === "AWSMachinePool").metadata.annotations[ANN];
    expect(
      imageRules({ cluster: "own", objects, origins: objects.map(() => undefined) }, inventory, "prod", "x")
        .filter((x) => x.rule === "image-version")
        .map((x) => x.message),
    ).toContainEqual(expect.stringContaining("nothing says which version it holds"));
  });
  it("the spec refuses an id without a version, and a version its machines do not run", () => {
    const parse = (image: Record<string, string>, pools?: unknown[]) =>
      parseSpecObject({
        apiVersion: "capi-gitops.io/v1alpha1",
        kind: "ClusterSpec",
        name: "x",
        region: "ap-northeast-2",
        kubernetesVersion: "v1.34.2",
        image,
        ...(pools ? { nodePools: pools } : {}),
      }).findings;
    expect(parse({ id: "ami-0123456789abcdef0" })).toMatchObject([
      { rule: "image-version", path: "image.kubernetesVersion" },
    ]);
    expect(parse({ lookupOrg: "123456789012", lookupFormat: "team-ubuntu-*" })).toMatchObject([
      { rule: "image-version" },
    ]);
    expect(parse({ lookupOrg: "123456789012", lookupFormat: "team-{{.K8sVersion}}-*" })).toEqual([]);
    expect(parse({ id: "ami-0123456789abcdef0", kubernetesVersion: "v1.34.2" })).toEqual([]);
    const pinned = parse({ id: "ami-0123456789abcdef0", kubernetesVersion: "v1.34.2" }, [
      { name: "p", kubernetesVersion: "v1.33.4" },
    ]);
    expect(pinned).toMatchObject([{ rule: "image-version", path: "image.kubernetesVersion" }]);
    expect(pinned[0]!.message).toContain("pool p runs v1.33.4");
  });
});

describe("API endpoint access", () => {
  it("allowedCidrs become the control-plane load balancer's ingress rules; scheme is set", () => {
    const aws = of(rendered.get("own")!, "AWSCluster")[0]!;
    expect(aws.spec.controlPlaneLoadBalancer.scheme).toBe("internet-facing");
    expect(aws.spec.controlPlaneLoadBalancer.ingressRules).toEqual([
      {
        description: "Kubernetes API (apiServer.allowedCidrs)",
        protocol: "tcp",
        fromPort: 6443,
        toPort: 6443,
        cidrBlocks: ["203.0.113.0/24"],
      },
    ]);
    expect(of(rendered.get("internal")!, "AWSCluster")[0]!.spec.controlPlaneLoadBalancer.scheme).toBe("internal");
  });
  it("validate warns when a prod cluster's API is open to 0.0.0.0/0, not otherwise", () => {
    expect(imageRules(rc("ohio"), inventory, "prod", "x").map((f) => [f.rule, f.severity])).toEqual([
      ["api-open-to-world", "warning"],
    ]);
    expect(imageRules(rc("ohio"), inventory, "dev", "x")).toEqual([]);
    expect(imageRules(rc("internal"), inventory, "prod", "x")).toEqual([]);
  });
});

describe("feature gate MachinePoolMachines", () => {
  it("is on for the AWS provider (Machines for MachinePool instances, seen by the autoscaler and kubectl)", () => {
    const aws = providerObjects(versions()).find((o) => o.kind === "InfrastructureProvider") as Obj;
    expect(aws.spec.manager.featureGates).toEqual({ MachinePool: true, MachinePoolMachines: true });
  });
});

describe("IAM prerequisites", () => {
  it("clusterawsadm is pinned at the CAPA release", () => {
    const pins = versions();
    expect(pins.tools.clusterawsadm?.version).toBe(pins.crds["cluster-api-provider-aws"]!.version);
  });
  it("the real clusterawsadm accepts management/iam/bootstrap.yaml offline (with the EBS CSI policy)", async () => {
    const t = await tempDir();
    try {
      await writeTree(t.dir, { files: planIam(), roots: [] });
      const template = await printCloudFormationTemplate(t.dir, "management/iam/bootstrap.yaml");
      expect(template).toContain("AWSEBSCSIPolicyController");
      expect(template).toContain("nodes.cluster-api-provider-aws.sigs.k8s.io");
      expect(template).toContain("control-plane.cluster-api-provider-aws.sigs.k8s.io");
    } finally {
      await t.cleanup();
    }
  });
});
