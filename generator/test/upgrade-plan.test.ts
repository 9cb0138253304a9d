/** The pure part of `upgrade` (plan/upgrade.ts): which step comes next, what is refused, and the edited spec text. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseSpecObject, parseSpecText } from "../src/cluster-spec/parse.js";
import type { ClusterSpec } from "../src/cluster-spec/types.js";
import { planSpecUpdates } from "../src/plan/repo.js";
import { imageVersionFlags } from "../src/diff/flags.js";
import {
  applyUpgradeStep,
  describeUpgradeState,
  planUpgradeStep,
  specVersions,
  upgradeStateFindings,
} from "../src/plan/upgrade.js";
import type { ImageInventory } from "../src/schemas/ami-inventory.js";
import { formatFindings } from "../src/validate/format.js";
import { versions } from "../src/pins/versions.js";
import { ROOT } from "./helpers.js";

const inventory = JSON.parse(
  readFileSync(path.join(ROOT, "schemas/capa-images/inventory.json"), "utf8"),
) as ImageInventory;
const ctx = { pins: versions(), inventory };

function spec(over: Record<string, unknown>): ClusterSpec {
  const r = parseSpecObject({
    apiVersion: "capi-gitops.io/v1alpha1",
    kind: "ClusterSpec",
    name: "c",
    region: "us-east-2",
    kubernetesVersion: "v1.33.4",
    ...over,
  });
  if (!r.spec || r.findings.length) throw new Error(JSON.stringify(r.findings));
  return r.spec;
}
const pools = (s: { after: ReturnType<typeof specVersions> }) => s.after.pools.map((p) => p.version);

describe("planUpgradeStep", () => {
  it("moves the control plane first, one minor, pools pinned at their version; then the pools", () => {
    const one = planUpgradeStep(spec({ nodePools: [{ name: "a" }, { name: "b" }] }), "v1.34.3", ctx);
    expect(one.findings).toEqual([]);
    expect(one.step?.kind).toBe("control-plane");
    expect(one.step?.after.controlPlane).toBe("v1.34.3");
    expect(pools(one.step!)).toEqual(["v1.33.4", "v1.33.4"]);
    const mid = spec({
      kubernetesVersion: "v1.34.3",
      nodePools: [
        { name: "a", kubernetesVersion: "v1.33.4" },
        { name: "b", kubernetesVersion: "v1.33.4" },
      ],
    });
    const two = planUpgradeStep(mid, "v1.34.3", ctx);
    expect(two.step?.kind).toBe("pools");
    expect(two.step?.after.controlPlane).toBe("v1.34.3");
    expect(pools(two.step!)).toEqual(["v1.34.3", "v1.34.3"]);
    // Without --to the next step is the pools' one; once they are at the control plane's, nothing.
    expect(planUpgradeStep(mid, undefined, ctx).step?.kind).toBe("pools");
    expect(planUpgradeStep(spec({ kubernetesVersion: "v1.34.3" }), undefined, ctx).step?.kind).toBe("none");
  });

  it("finishes a pool step before moving the control plane further", () => {
    const mid = spec({ kubernetesVersion: "v1.34.3", nodePools: [{ name: "a", kubernetesVersion: "v1.33.4" }] });
    const r = planUpgradeStep(mid, "v1.35.0", { ...ctx, inventory: undefined });
    expect(r.step?.kind).toBe("pools");
    expect(r.step?.next).toContain("again to move the control plane to v1.35.0");
  });

  it("refuses two minors at once and prints the single steps (the published patch of the minor in between)", () => {
    const r = planUpgradeStep(spec({}), "v1.35.0", ctx);
    expect(r.step).toBeUndefined();
    expect(r.findings).toMatchObject([
      { rule: "upgrade-one-minor", severity: "error", path: "--to", file: "clusters/c/cluster.yaml" },
    ]);
    expect(r.findings[0]!.message).toContain("v1.33.4 → v1.34.8 → v1.35.0");
    // Without a public lookup there is no published patch to suggest.
    const own = planUpgradeStep(
      spec({ image: { id: "ami-0123456789abcdef0", kubernetesVersion: "v1.33.4" } }),
      "v1.36.1",
      ctx,
    );
    expect(own.findings[0]!.message).toContain("v1.33.4 → v1.34.x → v1.35.x → v1.36.1");
  });

  it("refuses a downgrade, a malformed or unsupported target; --all leaves a newer cluster as it is", () => {
    expect(planUpgradeStep(spec({ kubernetesVersion: "v1.34.3" }), "v1.33.4", ctx).findings[0]!.rule).toBe(
      "upgrade-downgrade",
    );
    expect(
      planUpgradeStep(spec({ kubernetesVersion: "v1.34.3" }), "v1.33.4", { ...ctx, skipNewer: true }).step?.kind,
    ).toBe("none");
    expect(planUpgradeStep(spec({}), "1.34", ctx).findings[0]).toMatchObject({ rule: "upgrade-target", path: "--to" });
    expect(planUpgradeStep(spec({}), "v1.37.0", ctx).findings[0]!.message).toContain(
      "outside what the pinned Cluster API supports",
    );
  });

  it("refuses a target without a published image where a machine uses CAPA's public lookup", () => {
    const seoul = planUpgradeStep(spec({ region: "ap-northeast-2" }), "v1.34.3", ctx);
    expect(seoul.findings).toMatchObject([{ rule: "upgrade-image" }]);
    expect(seoul.findings[0]!.message).toContain("ap-northeast-2");
    // v1.34.2 is published nowhere; v1.34.3 is in us-east-2.
    expect(planUpgradeStep(spec({}), "v1.34.2", ctx).findings[0]!.message).toContain(
      "published ubuntu-24.04 versions there: v1.33.4, v1.34.1, v1.34.3, v1.34.8",
    );
    // An AMI id, or an own organisation: the team's images, not checked.
    const fixed = { id: "ami-0123456789abcdef0", kubernetesVersion: "v1.33.4" };
    expect(
      planUpgradeStep(spec({ region: "ap-northeast-2", image: fixed }), "v1.34.3", {
        ...ctx,
        imageId: "ami-0fedcba9876543210",
      }).findings,
    ).toEqual([]);
    expect(
      planUpgradeStep(spec({ region: "ap-northeast-2", image: { lookupOrg: "123456789012" } }), "v1.34.3", ctx)
        .findings,
    ).toEqual([]);
    // A pool on the public lookup refuses it even when the control plane has its own image (the pool follows next).
    const pool = planUpgradeStep(
      spec({
        region: "ap-northeast-2",
        image: { id: "ami-0123456789abcdef0", kubernetesVersion: "v1.33.4" },
        nodePools: [{ name: "p", image: { lookupBaseOS: "ubuntu-22.04" } }],
      }),
      "v1.34.3",
      { ...ctx, imageId: "ami-0fedcba9876543210" },
    );
    expect(pool.findings[0]!.message).toContain("pool p would run v1.34.3");
  });

  it("refuses a target minor without a pinned CCM when the cluster has one (the CCM follows the control plane)", () => {
    // Every supported minor has a CCM now (issue 19 item 5): take one away to see the refusal.
    const v = versions();
    const { "1.32": _gone, ...byMinor } = v.addons.cloudControllerManager.byMinor;
    const pins = {
      ...v,
      addons: { ...v.addons, cloudControllerManager: { ...v.addons.cloudControllerManager, byMinor } },
    };
    const r = planUpgradeStep(
      spec({ kubernetesVersion: "v1.31.2", image: { id: "ami-0123456789abcdef0", kubernetesVersion: "v1.31.2" } }),
      "v1.32.1",
      { ...ctx, pins },
    );
    expect(r.findings).toMatchObject([{ rule: "upgrade-addons" }]);
    expect(r.findings[0]!.message).toContain("cloud-controller-manager");
  });
});

describe("applyUpgradeStep", () => {
  const text = `# yaml-language-server: $schema=../../schemas/cluster-spec.schema.json
# our payments cluster
apiVersion: capi-gitops.io/v1alpha1
kind: ClusterSpec
name: c
region: us-east-2
kubernetesVersion: v1.33.4 # bumped by upgrade
nodePools:
  - name: a
    minSize: 1
    labels: { team: "pay" }
  - name: b # batch
    maxSize: 5
`;
  it(`step 1 pins each pool below the control plane's version; step 2 removes the pins; \
comments and layout stay`, () => {
    const s0 = parseSpecText(text).spec!;
    const one = applyUpgradeStep(text, s0, planUpgradeStep(s0, "v1.34.3", ctx).step!);
    expect(one).toContain("# our payments cluster");
    expect(one).toContain("kubernetesVersion: v1.34.3 # bumped by upgrade");
    expect(one).toContain('    minSize: 1\n    kubernetesVersion: v1.33.4\n    labels: { team: "pay" }');
    expect(one).toContain("  - name: b # batch\n    maxSize: 5\n    kubernetesVersion: v1.33.4\n");
    const s1 = parseSpecText(one).spec!;
    expect(specVersions(s1).pools.map((p) => [p.version, p.pinned])).toEqual([
      ["v1.33.4", true],
      ["v1.33.4", true],
    ]);
    const two = applyUpgradeStep(one, s1, planUpgradeStep(s1, "v1.34.3", ctx).step!);
    expect(two).toBe(text.replace("v1.33.4 # bumped", "v1.34.3 # bumped"));
  });

  it("writes out the default pool when the spec has no nodePools", () => {
    const bare =
      "apiVersion: capi-gitops.io/v1alpha1\nkind: ClusterSpec\nname: c\nregion: us-east-2\n" +
      "kubernetesVersion: v1.33.4\n";
    const s0 = parseSpecText(bare).spec!;
    const one = applyUpgradeStep(bare, s0, planUpgradeStep(s0, "v1.34.3", ctx).step!);
    expect(one).toBe(
      "apiVersion: capi-gitops.io/v1alpha1\nkind: ClusterSpec\nname: c\nregion: us-east-2\n" +
        "kubernetesVersion: v1.34.3\nnodePools:\n  - name: default\n    kubernetesVersion: v1.33.4\n",
    );
  });
});

describe("upgrade state", () => {
  it("is an info line while pools are behind, nothing otherwise", () => {
    const mid = spec({
      kubernetesVersion: "v1.34.3",
      nodePools: [{ name: "a", kubernetesVersion: "v1.33.4" }, { name: "b" }],
    });
    expect(upgradeStateFindings(mid)).toMatchObject([
      { cluster: "c", rule: "upgrade-state", severity: "info", file: "clusters/c/cluster.yaml" },
    ]);
    expect(describeUpgradeState(mid)).toContain("pool a (v1.33.4) behind it");
    expect(upgradeStateFindings(spec({}))).toEqual([]);
    // Printed, never counted: a GitHub notice, an "info:" line in text.
    expect(formatFindings(upgradeStateFindings(mid), "github", { clusters: 1, errors: 0, warnings: 0 })).toMatch(
      /^::notice file=clusters\/c\/cluster.yaml,title=upgrade-state \[c\]::/,
    );
    expect(formatFindings(upgradeStateFindings(mid), "text", { clusters: 1, errors: 0, warnings: 0 })).toContain(
      "  info: clusters/c/cluster.yaml nodePools[].kubernetesVersion: upgrade in progress",
    );
  });
});

// --- h-images: issue 19 items 2 and 6 ---
describe("fixed images move only with a new image (issue 19 item 2)", () => {
  const OLD = "ami-0123456789abcdef0";
  const NEW = "ami-0fedcba9876543210";
  const text = `apiVersion: capi-gitops.io/v1alpha1
kind: ClusterSpec
name: c
region: ap-northeast-2
kubernetesVersion: v1.33.4
image:
  id: ${OLD}
  kubernetesVersion: v1.33.4
nodePools:
  - name: a
  - name: b
`;
  const parsed = (t: string) => {
    const r = parseSpecText(t);
    expect(r.findings).toEqual([]);
    return r.spec!;
  };

  it("step 1 is refused without --image-id (an AMI id keeps its kubelet); a version-following lookup is not", () => {
    const r = planUpgradeStep(parsed(text), "v1.34.3", ctx);
    expect(r.step).toBeUndefined();
    expect(r.findings).toMatchObject([{ rule: "upgrade-image", severity: "error" }]);
    expect(r.findings[0]!.message).toContain(`the control plane's image is fixed (AMI ${OLD} (Kubernetes v1.33.4))`);
    expect(r.findings[0]!.message).toContain("--image-id <ami-…>");
    // A lookup format without {{.K8sVersion}} is fixed too; with it, the lookup follows the version.
    const fixedFormat = spec({
      region: "ap-northeast-2",
      image: { lookupOrg: "123456789012", lookupFormat: "team-ubuntu-*", kubernetesVersion: "v1.33.4" },
    });
    expect(planUpgradeStep(fixedFormat, "v1.34.3", ctx).findings).toMatchObject([{ rule: "upgrade-image" }]);
    const following = spec({
      region: "ap-northeast-2",
      image: { lookupOrg: "123456789012", lookupFormat: "team-{{.K8sVersion}}-*" },
    });
    expect(planUpgradeStep(following, "v1.34.3", ctx).findings).toEqual([]);
  });

  it(`step 1 with --image-id gives the control plane the new image and pins the old one on the pools; \
step 2 needs the pools' image`, () => {
    const s0 = parsed(text);
    const one = planUpgradeStep(s0, "v1.34.3", { ...ctx, imageId: NEW });
    expect(one.findings).toEqual([]);
    const t1 = applyUpgradeStep(text, s0, one.step!);
    expect(t1).toContain(`image:\n  id: ${NEW}\n  kubernetesVersion: v1.34.3\n`);
    expect(t1).toContain(
      `  - name: a\n    kubernetesVersion: v1.33.4\n    image:\n      id: ${OLD}\n      kubernetesVersion: v1.33.4\n`,
    );
    const s1 = parsed(t1);
    // Step 2 without an image is refused, naming the flag and the control plane's image.
    const refused = planUpgradeStep(s1, undefined, ctx);
    expect(refused.findings).toMatchObject([{ rule: "upgrade-image" }]);
    expect(refused.findings[0]!.message).toContain("--pool-image-id a=<ami-…>");
    expect(refused.findings[0]!.message).toContain(`--image-id ${NEW} makes the pool use the cluster's image again`);
    // The cluster's image: the pools' own images go; another image for one pool: written as its own.
    const OTHER = "ami-0aaaaaaaaaaaaaaaa";
    const two = planUpgradeStep(s1, undefined, { ...ctx, imageId: NEW, poolImageIds: { b: OTHER } });
    expect(two.findings).toEqual([]);
    const t2 = applyUpgradeStep(t1, s1, two.step!);
    const s2 = parsed(t2);
    expect(s2.nodePools.map((p) => p.image)).toEqual([undefined, { id: OTHER, kubernetesVersion: "v1.34.3" }]);
    expect(s2.nodePools.map((p) => p.kubernetesVersion)).toEqual([undefined, undefined]);
    expect(s2.image).toEqual({ id: NEW, kubernetesVersion: "v1.34.3" });
  });

  it("refuses image flags that do nothing or name no pool", () => {
    const s0 = parsed(text);
    expect(
      planUpgradeStep(s0, "v1.34.3", { ...ctx, imageId: NEW, poolImageIds: { a: NEW } }).findings[0]!.message,
    ).toContain("--pool-image-id belongs to the pools' step");
    const mid = planUpgradeStep(s0, "v1.34.3", { ...ctx, imageId: NEW });
    const s1 = parsed(applyUpgradeStep(text, s0, mid.step!));
    expect(
      planUpgradeStep(s1, undefined, { ...ctx, imageId: NEW, poolImageIds: { zz: NEW } }).findings[0]!.message,
    ).toContain("--pool-image-id names no pool of c: zz");
  });
});

describe("the CCM and the cluster-autoscaler move with the pools, not the control plane (issue 19 item 6)", () => {
  const text =
    "apiVersion: capi-gitops.io/v1alpha1\nkind: ClusterSpec\nname: c\nregion: us-east-2\nkubernetesVersion: v1.33.4\n";
  /** The generated files of the version-bound add-ons: the Cluster's CCM label, the CRS payloads, the autoscaler. */
  const addonFiles = (s: ClusterSpec) =>
    Object.fromEntries(
      planSpecUpdates([{ spec: s, text: "" }], {}, versions())
        .files.filter(
          (f) =>
            /generated\/(addons\/kustomization\.yaml|autoscaler\/)/.test(f.path) ||
            f.path.endsWith("generated/kustomization.yaml"),
        )
        .map((f) => [f.path, f.content]),
    );
  it("step 1 changes neither; step 2 moves both to the control plane's minor", () => {
    const s0 = parseSpecText(text).spec!;
    const t1 = applyUpgradeStep(text, s0, planUpgradeStep(s0, "v1.34.3", ctx).step!);
    const s1 = parseSpecText(t1).spec!;
    const t2 = applyUpgradeStep(t1, s1, planUpgradeStep(s1, undefined, ctx).step!);
    const s2 = parseSpecText(t2).spec!;
    const [f0, f1, f2] = [addonFiles(s0), addonFiles(s1), addonFiles(s2)];
    const ccm = (f: Record<string, string>) =>
      /aws-ccm\/(v[\d.]+)/.exec(f["clusters/c/generated/addons/kustomization.yaml"]!)?.[1];
    const ca = (f: Record<string, string>) =>
      /cluster-autoscaler:(v[\d.]+)/.exec(Object.entries(f).find(([p]) => p.includes("/autoscaler/"))![1])?.[1];
    expect([ccm(f0), ca(f0)]).toEqual([
      versions().addons.cloudControllerManager.byMinor["1.33"],
      versions().clusterAutoscaler.byMinor["1.33"],
    ]);
    // Step 1: the control plane moves (KCP version) but the add-ons stay at 1.33.
    expect(f1["clusters/c/generated/kustomization.yaml"]).toContain("v1.34.3");
    expect([ccm(f1), ca(f1)]).toEqual([ccm(f0), ca(f0)]);
    // Step 2: they follow the control plane to 1.34.
    expect([ccm(f2), ca(f2)]).toEqual([
      versions().addons.cloudControllerManager.byMinor["1.34"],
      versions().clusterAutoscaler.byMinor["1.34"],
    ]);
    expect(planUpgradeStep(s1, "v1.34.3", ctx).step!.summary).toContain(
      "the CCM and the cluster-autoscaler follow to 1.34",
    );
    expect(planUpgradeStep(s0, "v1.34.3", ctx).step!.summary).toContain("stay at 1.33 until the pools' step");
  });
});

describe("diff: a version moved under a fixed image (issue 19 item 2, diff/flags.ts imageVersionFlags)", () => {
  const objs = (version: string, image: Record<string, unknown>, stated?: string) => [
    {
      apiVersion: "infrastructure.cluster.x-k8s.io/v1beta2",
      kind: "AWSCluster",
      metadata: { name: "c" },
      spec: { region: "ap-northeast-1" },
    },
    {
      apiVersion: "controlplane.cluster.x-k8s.io/v1beta2",
      kind: "KubeadmControlPlane",
      metadata: { name: "c-control-plane" },
      spec: { version, machineTemplate: { spec: { infrastructureRef: { name: "c-cp" } } } },
    },
    {
      apiVersion: "infrastructure.cluster.x-k8s.io/v1beta2",
      kind: "AWSMachineTemplate",
      metadata: {
        name: "c-cp",
        ...(stated ? { annotations: { "capi-gitops.io/image-kubernetes-version": stated } } : {}),
      },
      spec: { template: { spec: image } },
    },
  ];
  const ami = { ami: { id: "ami-0123456789abcdef0" } };
  it("flags the version moving while the AMI stays; not a new AMI, nor a version-following lookup", () => {
    const kept = imageVersionFlags("c", objs("v1.34.8", ami, "v1.34.8"), objs("v1.35.0", ami, "v1.34.8"));
    expect(kept).toMatchObject([
      { rule: "image-version-mismatch", severity: "error", path: "AWSMachineTemplate/c-cp:spec.template.spec" },
    ]);
    expect(kept[0]!.message).toContain("moves from v1.34.8 to v1.35.0 but keeps AMI ami-0123456789abcdef0");
    // Negative controls: a new image stated for the new version; CAPA's lookup with the version in its format.
    expect(
      imageVersionFlags(
        "c",
        objs("v1.34.8", ami, "v1.34.8") as never,
        objs("v1.35.0", { ami: { id: "ami-0fedcba9876543210" } }, "v1.35.0") as never,
      ),
    ).toEqual([]);
    const lookup = { imageLookupOrg: "123456789012" };
    expect(imageVersionFlags("c", objs("v1.34.8", lookup) as never, objs("v1.35.0", lookup) as never)).toEqual([]);
    // A format without {{.K8sVersion}} is fixed like an id.
    const format = { imageLookupOrg: "123456789012", imageLookupFormat: "team-ubuntu-*" };
    expect(
      imageVersionFlags(
        "c",
        objs("v1.34.8", format, "v1.34.8") as never,
        objs("v1.35.0", format, "v1.34.8") as never,
      ).map((f) => f.rule),
    ).toEqual(["image-version-mismatch"]);
  });
  it("flags a new image stated for another version than its machines run", () => {
    const f = imageVersionFlags("c", [] as never, objs("v1.35.0", { ami: { id: "ami-0fedcba9876543210" } }, "v1.34.8"));
    expect(f.map((x) => x.message)).toEqual([
      expect.stringContaining("holds Kubernetes v1.34.8, but KubeadmControlPlane c-control-plane runs v1.35.0"),
    ]);
  });
});
