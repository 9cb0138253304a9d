/**
 * new-cluster's VPC CIDR picker (cluster-spec/cidr.ts pickVpcCidr): hashed by name, never on the pod or service range.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { cidrsOverlap, pickVpcCidr } from "../src/cluster-spec/cidr.js";
import { DEFAULTS } from "../src/cluster-spec/types.js";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, tempDir } from "./helpers.js";
import { newClusterArgs } from "./helpers/repo.js";
import { chooseVpcCidr } from "../src/workflows/new-cluster.js";

const slot = (name: string) => createHash("sha256").update(name).digest().readUInt16BE(0) % 256;
const KUBE = [DEFAULTS.podCidr, DEFAULTS.serviceCidr];
/** A name whose hash lands on the wanted slots (found by trying c0, c1, …). */
const nameIn = (lo: number, hi: number) => {
  for (let i = 0; ; i++) if (slot(`c${i}`) >= lo && slot(`c${i}`) <= hi) return `c${i}`;
};
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, n) => `10.${from + n}.0.0/16`);

describe("19.11: the free-VPC-CIDR picker skips the service and pod ranges", () => {
  it(`a fleet of 96 clusters (10.0–10.95) does not hand out 10.96.0.0/16 \
(inside the default service CIDR 10.96.0.0/12)`, () => {
    const picked = chooseVpcCidr({ name: nameIn(0, 95) }, range(0, 96))!;
    expect(picked).toBe("10.112.0.0/16");
    expect(cidrsOverlap(picked, DEFAULTS.serviceCidr)).toBe(false);
  });
  it("a name hashed into 10.96–10.111 probes past the service range", () => {
    expect(pickVpcCidr(nameIn(96, 111), [], KUBE)).toBe("10.112.0.0/16");
  });
  it("the cluster's own pod and service CIDRs (--pod-cidr, --service-cidr) are skipped, wrapping past 10.255", () => {
    const name = nameIn(200, 255);
    expect(chooseVpcCidr({ name, podCidr: "10.128.0.0/9", serviceCidr: "10.0.0.0/12" }, [])).toBe("10.16.0.0/16");
  });
  it("no slot left (a fleet on every other 10.N.0.0/16): new-cluster refuses naming --vpc-cidr", async () => {
    expect(chooseVpcCidr({ name: "x", podCidr: "10.0.0.0/8" }, [])).toBeUndefined();
    const t = await tempDir("capi-gitops-vpc-");
    try {
      await writeFile(
        path.join(t.dir, "capi-gitops.yaml"),
        "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\nrepoURL: https://git.example.com/p/c.git\n",
      );
      const free = range(0, 256).filter((c) => !cidrsOverlap(c, DEFAULTS.serviceCidr));
      expect(free).toHaveLength(240);
      for (const [i, vpc] of free.entries()) {
        await mkdir(path.join(t.dir, "clusters", `c${i}`), { recursive: true });
        await writeFile(
          path.join(t.dir, "clusters", `c${i}`, "cluster.yaml"),
          `apiVersion: capi-gitops.io/v1alpha1\nkind: ClusterSpec\nname: c${i}\nregion: eu-west-1\n` +
            `network:\n  vpcCidr: ${vpc}\n`,
        );
      }
      const r = await runCli([...newClusterArgs("x", "eu-west-1"), "--yes", "--no-render", "--repo", t.dir]);
      expect(r.stderr).toMatch(/--vpc-cidr: no 10\.N\.0\.0\/16 is free/);
      expect(r.exitCode).toBe(1);
    } finally {
      await t.cleanup();
    }
  });
  it("no picked range overlaps a used, pod or service range (every slot of a filling fleet)", () => {
    const used: string[] = [];
    for (let i = 0; i < 240; i++) {
      const v = pickVpcCidr(`n${i}`, used, KUBE);
      if (v === undefined) break;
      expect([...used, ...KUBE].some((u) => cidrsOverlap(u, v))).toBe(false);
      used.push(v);
    }
    expect(used).toHaveLength(240); // 256 slots minus the 16 of 10.96.0.0/12
    expect(pickVpcCidr("one-more", used, KUBE)).toBeUndefined();
  });
});

describe("20.10: two --branch pull requests cut from the same main rarely take the same VPC CIDR", () => {
  it("the choice depends on the name, not on a 'next free' counter: two new clusters beside one fleet differ", () => {
    const fleet = ["10.0.0.0/16"];
    expect(pickVpcCidr("payments", fleet, KUBE)).not.toBe(pickVpcCidr("search", fleet, KUBE));
  });
  it("is stable: the same name and fleet give the same range in any order of the fleet", () => {
    const fleet = range(0, 40);
    expect(pickVpcCidr("payments", fleet, KUBE)).toBe(pickVpcCidr("payments", [...fleet].reverse(), KUBE));
    expect(pickVpcCidr("payments", [], KUBE)).toBe(`10.${slot("payments")}.0.0/16`);
  });
  it("probes upward from the name's slot to the first free one", () => {
    const name = nameIn(10, 20);
    expect(pickVpcCidr(name, [`10.${slot(name)}.0.0/16`, `10.${slot(name) + 1}.0.0/20`], KUBE)).toBe(
      `10.${slot(name) + 2}.0.0/16`,
    );
  });
});
