/**
 * Rings (README "Rolling a change through the fleet"): declared once in capi-gitops.yaml, named per cluster, the last
 * ring by default; a ring the config does not declare is refused with the field named; inventory shows the ring.
 */
import { describe, expect, it } from "vitest";
import { parseRepoConfig, type RepoConfig } from "../src/cluster-spec/config.js";
import { clusterRing, clustersByRing, ringFindings, ringOrder } from "../src/cluster-spec/rollout.js";
import { fleetFindings } from "../src/repo/load.js";
import { buildInventory, formatInventory } from "../src/fleet/inventory.js";
import { versions } from "../src/pins/versions.js";
import { clusterSpec } from "./helpers.js";
import { ringsOfChange } from "../src/diff/rings.js";
import type { DiffReport } from "../src/diff/format.js";

const CFG = "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\nrepoURL: https://git.example.com/x.git\n";
const RINGS =
  "rollout:\n  rings:\n  - name: canary\n    maxUpdate: 1\n  - name: early\n    maxUpdate: 10%\n  - name: main\n";

function config(text: string): RepoConfig {
  const r = parseRepoConfig(text);
  if (!r.config) throw new Error(JSON.stringify(r.findings));
  return r.config;
}

describe("rings", () => {
  const three = config(CFG + RINGS);
  const a = clusterSpec({ name: "a", rollout: { ring: "canary" } });
  const b = clusterSpec({ name: "b", rollout: { ring: "early" } });
  const c = clusterSpec({ name: "c" });

  it("default to one ring, main, holding every cluster", () => {
    const plain = config(CFG);
    expect(ringOrder(plain)).toEqual([{ name: "main" }]);
    expect(ringOrder(undefined)).toEqual([{ name: "main" }]);
    expect(clusterRing(c, plain)).toBe("main");
  });

  it("are declared once, in order, with maxUpdate where given", () => {
    expect(ringOrder(three)).toEqual([
      { name: "canary", maxUpdate: 1 },
      { name: "early", maxUpdate: "10%" },
      { name: "main" },
    ]);
  });

  it("put a cluster that names none in the last ring", () => {
    expect(clusterRing(a, three)).toBe("canary");
    expect(clusterRing(c, three)).toBe("main");
    const lastEarly = config(`${CFG}rollout:\n  rings:\n  - name: canary\n  - name: early\n`);
    expect(clusterRing(c, lastEarly)).toBe("early");
  });

  it("group the clusters by ring, in ring order, empty rings included", () => {
    const byRing = clustersByRing([c, b, a], three).map((r) => [r.ring.name, r.clusters.map((s) => s.name)]);
    expect(byRing).toEqual([
      ["canary", ["a"]],
      ["early", ["b"]],
      ["main", ["c"]],
    ]);
    expect(clustersByRing([c], three).map((r) => r.clusters.length)).toEqual([0, 0, 1]);
  });

  it("refuse a cluster naming an undeclared ring, with the field and the declared rings", () => {
    expect(ringFindings([a, b, c], three)).toEqual([]);
    const found = fleetFindings([a, c], config(CFG));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ cluster: "a", path: "rollout.ring", rule: "rollout-ring", severity: "error" });
    expect(found[0]?.message).toContain('ring "canary" is not declared in capi-gitops.yaml (rollout.rings: main)');
  });

  it("refuse a ring declared twice and a maxUpdate that is no count or percentage", () => {
    const twice = parseRepoConfig(`${CFG}rollout:\n  rings:\n  - name: x\n  - name: x\n`);
    expect(twice.findings.map((f) => f.path)).toEqual(["rollout.rings.1.name"]);
    const bad = parseRepoConfig(`${CFG}rollout:\n  rings:\n  - name: x\n    maxUpdate: half\n`);
    expect(bad.config).toBeUndefined();
    expect(bad.findings.some((f) => f.path === "rollout.rings.0.maxUpdate")).toBe(true);
  });

  it("show in the inventory (text, Markdown and JSON)", () => {
    const inv = buildInventory([a, c], versions(), undefined, [], undefined, three);
    expect(inv.clusters.map((x) => [x.name, x.ring])).toEqual([
      ["a", "canary"],
      ["c", "main"],
    ]);
    expect(formatInventory(inv, "text")).toContain("profile dev, ring canary,");
    const md = formatInventory(inv, "markdown").split("\n");
    expect(md[0]).toContain("| profile | ring |");
    expect(md[2]).toContain("| dev | canary |");
  });
});

describe("change-reaches-all-rings (diff/rings.ts)", () => {
  const cfg = config(CFG + RINGS);
  const specs = new Map(
    [
      ["a", "canary"],
      ["b", "main"],
    ].map(([name, ring]) => [name ?? "", clusterSpec({ name, rollout: { ring } })] as const),
  );
  const report = (): DiffReport => ({
    base: "HEAD",
    clusters: ["a", "b"].map((cluster) => ({ cluster, status: "changed" as const, changes: [], findings: [] })),
  });
  const flag = (shared: string[]) =>
    ringsOfChange(report(), specs, cfg, ["a", "b"], shared)?.findings.find(
      (f) => f.rule === "change-reaches-all-rings",
    );
  it("advises a release for a change release moves (base/, the overlays, the releases)", () => {
    for (const file of ["base/cluster/cluster.yaml", "overlays/profiles/dev/kustomization.yaml", "releases/x/y"])
      expect(flag([file])?.message).toContain("`npm run release -- --ring canary`");
  });
  it("says release cannot hold a change it does not move (add-on payloads), and how to hold the rings instead", () => {
    const f = flag(["addons/cilium/v1.21.0/kustomization.yaml"]);
    expect(f?.severity).toBe("warning");
    expect(f?.message).not.toContain("npm run release -- --ring");
    expect(f?.message).toContain("`npm run release` moves only base/ and the overlays");
    expect(f?.message).toContain("Flux: suspend their Kustomizations");
  });
});
