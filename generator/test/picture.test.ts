/**
 * The pull-request summary's pictures (diff/picture.ts): each touched cluster as Mermaid text drawn from its render
 * (the fixture clusters built by the real kustomize), what differs from the base marked, labels escaped, the number
 * of pictures capped, and the rings a change reaches.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatMarkdown, type DiffReport } from "../src/diff/format.js";
import { clusterPicture, diffPictures, mermaidText, ringMembers, ringsMermaid, shapeOf } from "../src/diff/picture.js";
import type { K8sObject } from "../src/k8s/object.js";
import { planRepo } from "../src/plan/repo.js";
import { versions } from "../src/pins/versions.js";
import { writeTree } from "../src/repo/write.js";
import { kustomizeBuild, parseBuildOutput } from "../src/tools/kustomize.js";
import { fixtureSpecs, tempDir } from "./helpers.js";

const rendered = new Map<string, K8sObject[]>();
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const t = await tempDir();
  cleanup = t.cleanup;
  await writeTree(t.dir, planRepo({ specs: fixtureSpecs() }, versions()));
  for (const name of ["demo", "edge-md"])
    rendered.set(name, parseBuildOutput(await kustomizeBuild(t.dir, `clusters/${name}`), `clusters/${name}`));
});
afterAll(() => cleanup?.());

const render = (name: string): K8sObject[] => {
  const r = rendered.get(name);
  if (!r) throw new Error(`${name} was not rendered`);
  return structuredClone(r);
};

const EDGE_MD = `flowchart LR
  cl["cluster edge-md<br/>eu-west-1"]
  cp["control plane<br/>3 × m6i.xlarge<br/>Kubernetes v1.34.8<br/>API load balancer: nlb, internet-facing"]
  p1["pool fixed (MachineDeployment)<br/>m6i.xlarge<br/>4 nodes<br/>Kubernetes v1.34.8"]
  p2["pool web (MachineDeployment)<br/>m6i.xlarge<br/>3..9 nodes, autoscaled<br/>Kubernetes v1.34.8"]
  subgraph vpc["VPC 10.0.0.0/16"]
    subgraph z1["eu-west-1a"]
      z1s1["private 10.0.0.0/20"]
      z1s2["public 10.0.128.0/20"]
    end
    subgraph z2["eu-west-1b"]
      z2s1["private 10.0.16.0/20"]
      z2s2["public 10.0.144.0/20"]
    end
    subgraph z3["eu-west-1c"]
      z3s1["private 10.0.32.0/20"]
      z3s2["public 10.0.160.0/20"]
    end
  end
  cl --> cp
  cp -.-> z1s1
  cp -.-> z2s1
  cp -.-> z3s1
  cl --> p1
  p1 -->|"2"| z2s1
  p1 -->|"2"| z3s1
  cl --> p2
  p2 -->|"1..3"| z1s1
  p2 -->|"1..3"| z2s1
  p2 -->|"1..3"| z3s1`;

const DEMO = `flowchart LR
  cl["cluster demo<br/>ap-northeast-2"]
  cp["control plane<br/>1 × t3.large<br/>Kubernetes v1.34.8<br/>API load balancer: nlb, internet-facing"]
  p1["pool default (MachinePool)<br/>t3.large<br/>1..3 nodes, autoscaled<br/>Kubernetes v1.34.8"]
  subgraph vpc["VPC 10.0.0.0/16"]
    subgraph z1["ap-northeast-2a"]
      z1s1["private 10.0.0.0/20"]
      z1s2["public 10.0.128.0/20"]
    end
    subgraph z2["ap-northeast-2b"]
      z2s1["private 10.0.16.0/20"]
      z2s2["public 10.0.144.0/20"]
    end
    subgraph z3["ap-northeast-2c"]
      z3s1["private 10.0.32.0/20"]
      z3s2["public 10.0.160.0/20"]
    end
  end
  cl --> cp
  cp -.-> z1s1
  cp -.-> z2s1
  cp -.-> z3s1
  cl --> p1
  p1 --> z1s1
  p1 --> z2s1
  p1 --> z3s1`;

const byKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
const named = (objs: K8sObject[], name: string) => {
  const o = objs.find((x) => x.metadata.name === name);
  if (!o) throw new Error(`no ${name}`);
  return o;
};
const setPath = (o: K8sObject, path: string[], value: unknown) => {
  let at: Record<string, unknown> = o;
  for (const k of path.slice(0, -1)) {
    const next = at[k];
    if (typeof next !== "object" || next === null || Array.isArray(next)) throw new Error(`no ${k}`);
    at = next as Record<string, unknown>;
  }
  at[path[path.length - 1]!] = value;
};

describe("a cluster's picture, from the fixture renders (real kustomize)", () => {
  it("edge-md (MachineDeployment pools, one per zone): the exact Mermaid text", () => {
    const p = clusterPicture("edge-md", render("edge-md"));
    expect(p.mermaid).toBe(EDGE_MD);
    expect([p.changed, p.gone]).toEqual([[], []]);
  });

  it("demo (a MachinePool over three zones): the exact Mermaid text", () => {
    expect(clusterPicture("demo", render("demo")).mermaid).toBe(DEMO);
  });

  it("is the same text whatever the render's object order", () => {
    const objs = render("edge-md");
    expect(clusterPicture("edge-md", [...objs].reverse()).mermaid).toBe(EDGE_MD);
    const aws = byKind(objs, "AWSCluster")[0]!;
    const subnets = aws.spec?.network;
    if (typeof subnets === "object" && subnets !== null && "subnets" in subnets && Array.isArray(subnets.subnets))
      subnets.subnets.reverse();
    expect(clusterPicture("edge-md", objs).mermaid).toBe(EDGE_MD);
  });

  it("marks what differs from the base render and names what went away", () => {
    const base = render("edge-md");
    const now = render("edge-md").filter((o) => !o.metadata.name.startsWith("edge-md-fixed"));
    // The control plane's machine template with another instance type, and the web pool's bound in one zone.
    setPath(named(now, "edge-md-control-plane-1bbd8575"), ["spec", "template", "spec", "instanceType"], "m7i.xlarge");
    named(now, "edge-md-web-a").metadata.annotations!["cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size"] =
      "5";
    const p = clusterPicture("edge-md", now, base);
    expect(p.changed).toEqual(["control plane", "pool web (MachineDeployment)"]);
    expect(p.gone).toEqual(["pool fixed (MachineDeployment)"]);
    expect(p.mermaid).toContain('  cp["control plane<br/>3 × m7i.xlarge<br/>Kubernetes v1.34.8<br/>API load balancer');
    expect(p.mermaid).toContain('  p1["pool web (MachineDeployment)<br/>m6i.xlarge<br/>3..11 nodes, autoscaled');
    expect(p.mermaid).toContain('  p1 -->|"1..5"| z1s1');
    expect(p.mermaid.endsWith("  classDef changed stroke:#d73a49,stroke-width:3px\n  class cp,p1 changed")).toBe(true);
  });

  it("a render without subnets shows the zones of the pools and says CAPA picks the subnets", () => {
    const objs = render("edge-md");
    const aws = byKind(objs, "AWSCluster")[0]!;
    setPath(aws, ["spec", "network"], { vpc: { cidrBlock: "10.0.0.0/16" } });
    const text = clusterPicture("edge-md", objs).mermaid;
    expect(text).toContain('    z1["eu-west-1a"]\n    z2["eu-west-1b"]\n    z3["eu-west-1c"]');
    expect(text).toContain('    nosubnets["subnets not in the render:<br/>CAPA picks zones and CIDRs"]');
    expect(text).toContain("  cp -.-> vpc");
    expect(text).toContain('  p2 -->|"1..3"| z1');
    expect(text).not.toContain("private");
  });

  it("the API server's load balancer is part of the control plane's box: a scheme change marks it", () => {
    const base = render("edge-md");
    const now = render("edge-md");
    setPath(byKind(now, "AWSCluster")[0]!, ["spec", "controlPlaneLoadBalancer", "scheme"], "internal");
    const p = clusterPicture("edge-md", now, base);
    expect(p.changed).toEqual(["control plane"]);
    expect(p.mermaid).toContain('<br/>API load balancer: nlb, internal"]');
    setPath(byKind(now, "AWSCluster")[0]!, ["spec", "controlPlaneLoadBalancer"], {});
    expect(clusterPicture("edge-md", now).mermaid).toContain("<br/>API load balancer: CAPA's default\"]");
  });

  it("draws at most 20 pools and counts the rest in one box", () => {
    const objs = render("edge-md");
    const md = named(objs, "edge-md-fixed-b");
    const extra = Array.from({ length: 30 }, (_, i) => {
      const copy = structuredClone(md);
      copy.metadata.name = `extra-${i}`;
      setPath(copy, ["spec", "template", "metadata", "labels"], {
        "capi-gitops.io/node-pool": `x${String(i).padStart(2, "0")}`,
      });
      return copy;
    });
    const text = clusterPicture("edge-md", [...objs, ...extra]).mermaid;
    expect(text.match(/^ {2}p\d+\[/gm)).toHaveLength(20);
    expect(text).toContain('  pmore["12 more pools (not drawn)"]');
    expect(text).not.toContain("pool x28");
  });

  it("a pool in a zone without a subnet is drawn so, and an empty render draws what is missing", () => {
    const objs = render("edge-md");
    setPath(named(objs, "edge-md-web-a"), ["spec", "template", "spec", "failureDomain"], "eu-west-1z");
    const text = clusterPicture("edge-md", objs).mermaid;
    expect(text).toContain('    z4["eu-west-1z<br/>no subnet in the render"]');
    expect(text).toContain('  p2 -->|"1..3"| z4');
    expect(clusterPicture("x", []).mermaid).toBe(
      [
        "flowchart LR",
        '  cl["cluster x<br/>(no region in the render)"]',
        '  cp["no KubeadmControlPlane in the render"]',
        '  subgraph vpc["VPC (no CIDR in the render)"]',
        '    nosubnets["subnets not in the render:<br/>CAPA picks zones and CIDRs"]',
        "  end",
        "  cl --> cp",
      ].join("\n"),
    );
  });
});

describe("labels are escaped for Mermaid", () => {
  it.each([
    ['say "hi"', "say #34;hi#34;"],
    ["a|b", "a#124;b"],
    ["#34; stays text", "#35;34; stays text"],
    ["<b>bold</b> & co", "#60;b#62;bold#60;/b#62; #38; co"],
    ["%%{init: {}}%%", "#37;#37;{init: {}}#37;#37;"],
    ["`md`", "#96;md#96;"],
    ["two\nlines", "two lines"],
    ["m6i.large (spot) [x]", "m6i.large (spot) [x]"],
  ])("%j → %j", (raw, escaped) => {
    expect(mermaidText(raw)).toBe(escaped);
  });

  it("a value from the render that tries to close the label stays inside it", () => {
    const objs = render("demo");
    const pool = byKind(objs, "AWSMachinePool")[0]!;
    setPath(pool, ["spec", "awsLaunchTemplate", "instanceType"], 'x"]\n  click cp call alert()\n  y["');
    const text = clusterPicture("demo", objs).mermaid;
    expect(text).toContain('  p1["pool default (MachinePool)<br/>x#34;]   click cp call alert()   y[#34;<br/>');
    // Every line is a node, a subgraph, an edge or its end: nothing from the label became a statement.
    for (const line of text.split("\n").slice(1))
      expect(line).toMatch(/^\s+(\w+\[".*"\]|subgraph \w+\[".*"\]|end|\w+ (-->|-\.->)(\|".*"\|)? \w+)$/);
  });
});

describe("the pictures of a diff", () => {
  const touched = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ cluster: `c${String(i).padStart(3, "0")}`, status: "changed" }));

  it("draws at most the cap, by the report's order, and names the rest", () => {
    const clusters = touched(300);
    const objs = render("demo");
    const renders = new Map(clusters.map((c) => [c.cluster, { objects: objs }]));
    const p = diffPictures(clusters, renders, renders);
    expect(p.clusters.map((c) => c.cluster)).toEqual(clusters.slice(0, 10).map((c) => c.cluster));
    expect(p.notDrawn).toHaveLength(290);
    const md = formatMarkdown({
      base: "main",
      clusters: clusters.map((c) => ({ ...c, status: "changed" as const, changes: [], findings: [] })),
      pictures: p,
    });
    expect(md.match(/```mermaid/g)).toHaveLength(10);
    expect(md).toContain("Pictures: 10 clusters drawn; 290 more touched clusters not drawn (`c010`, `c011`,");
    expect(md).toContain(", `c039`, … 260 more).");
    expect(md).not.toContain("`c040`,");
  });

  it("draws changed and new clusters only (not removed, failed or unchanged ones)", () => {
    const objs = render("demo");
    const renders = new Map(["a", "b", "c", "d", "e"].map((c) => [c, { objects: objs }]));
    const p = diffPictures(
      [
        { cluster: "a", status: "changed" },
        { cluster: "b", status: "new" },
        { cluster: "c", status: "removed" },
        { cluster: "d", status: "failed" },
        { cluster: "e", status: "unchanged" },
      ],
      renders,
      renders,
    );
    expect(p.clusters.map((c) => c.cluster)).toEqual(["a", "b"]);
    expect(p.notDrawn).toEqual([]);
  });

  it("the Markdown report puts each picture under its cluster, with the changes in words", () => {
    const base = render("edge-md");
    const now = render("edge-md");
    setPath(named(now, "edge-md-control-plane-1bbd8575"), ["spec", "template", "spec", "instanceType"], "m7i.xlarge");
    const report: DiffReport = {
      base: "main",
      clusters: [{ cluster: "edge-md", status: "changed", changes: [], findings: [] }],
    };
    report.pictures = diffPictures(
      report.clusters,
      new Map([["edge-md", { objects: base }]]),
      new Map([["edge-md", { objects: now }]]),
    );
    const md = formatMarkdown(report);
    expect(md).toContain(
      "### `edge-md`\n\n**Picture** (drawn from the render)\n\n```mermaid\nflowchart LR\n" +
        '  cl["cluster edge-md<br/>eu-west-1"]\n',
    );
    expect(md).toContain(
      "  class cp changed\n```\n\nThick red border: differs from the base render (`control plane`).",
    );
    // Without pictures (the text format, or a report from compareSides alone) there is no Mermaid.
    expect(formatMarkdown({ ...report, pictures: undefined })).not.toContain("mermaid");
  });
});

describe("the rings a change reaches", () => {
  it("every ring in rollout order, the touched clusters in each, the reached ones marked", () => {
    expect(
      ringsMermaid({
        order: ["canary", "early", "main"],
        clusters: [
          { cluster: "web-2", ring: "main" },
          { cluster: "canary-1", ring: "canary" },
          { cluster: "web-1", ring: "main" },
        ],
      }),
    ).toBe(
      [
        "flowchart LR",
        '  r1["ring canary<br/>1 touched cluster<br/>canary-1"]',
        '  r2["ring early<br/>not reached"]',
        '  r3["ring main<br/>2 touched clusters<br/>web-1<br/>web-2"]',
        "  r1 --> r2",
        "  r2 --> r3",
        "  classDef reached stroke:#d73a49,stroke-width:3px",
        "  class r1,r3 reached",
      ].join("\n"),
    );
  });

  it("a large ring lists a bounded number of names; an undeclared ring comes last", () => {
    const clusters = Array.from({ length: 40 }, (_, i) => ({
      cluster: `m${String(i).padStart(2, "0")}`,
      ring: "main",
    }));
    const text = ringsMermaid({ order: ["main"], clusters: [...clusters, { cluster: "odd", ring: 'x"y' }] });
    expect(text).toContain('<br/>m11<br/>… and 28 more"]');
    expect(text).toContain('  r2["ring x#34;y (not declared)<br/>1 touched cluster<br/>odd"]');
  });
});

describe("the rings picture of a diff (from diff/rings.ts' reached rings)", () => {
  it("every declared ring in order, the reached ones with their touched clusters", () => {
    const members = ringMembers(
      [
        { ring: "canary", clusters: ["a"] },
        { ring: "main", clusters: ["b", "c"] },
      ],
      ["canary", "early", "main"],
    );
    expect(members).toEqual({
      order: ["canary", "early", "main"],
      clusters: [
        { cluster: "a", ring: "canary" },
        { cluster: "b", ring: "main" },
        { cluster: "c", ring: "main" },
      ],
    });
    const md = formatMarkdown({
      base: "main",
      clusters: ["a", "b", "c"].map((cluster) => ({ cluster, status: "changed", changes: [], findings: [] })),
      pictures: { clusters: [], notDrawn: [], rings: members },
    });
    expect(md).toContain(
      "### Rings this change reaches\n\nIn rollout order; a thick red border: a ring with a touched cluster.\n\n" +
        '```mermaid\nflowchart LR\n  r1["ring canary<br/>1 touched cluster<br/>a"]\n' +
        '  r2["ring early<br/>not reached"]\n  r3["ring main<br/>2 touched clusters<br/>b<br/>c"]\n',
    );
  });

  it("no rings (one ring declared: diff/rings.ts reports none) draws no rings picture", () => {
    const md = formatMarkdown({
      base: "main",
      clusters: [{ cluster: "b", status: "new", changes: [], findings: [] }],
      pictures: { clusters: [], notDrawn: [] },
    });
    expect(md).not.toContain("Rings this change reaches");
  });
});

describe("shapeOf", () => {
  it("an AWSMachinePool without zones goes to every private subnet (CAPA scope/shared.go)", () => {
    const objs = render("demo");
    setPath(byKind(objs, "AWSMachinePool")[0]!, ["spec", "availabilityZones"], []);
    const text = clusterPicture("demo", objs).mermaid;
    expect(text).toContain("  p1 --> z1s1\n  p1 --> z2s1\n  p1 --> z3s1");
    setPath(byKind(objs, "AWSMachinePool")[0]!, ["spec", "availabilityZones"], ["ap-northeast-2b"]);
    setPath(byKind(objs, "AWSMachinePool")[0]!, ["spec", "availabilityZoneSubnetType"], "public");
    expect(clusterPicture("demo", objs).mermaid.endsWith("  cl --> p1\n  p1 --> z2s2")).toBe(true);
  });

  it("reads a fixed MachinePool's size from its replicas and the ASG bounds", () => {
    const objs = render("demo");
    const mp = named(objs, "demo-default");
    mp.metadata.annotations = {};
    setPath(mp, ["spec", "replicas"], 2);
    expect(shapeOf("demo", objs).pools[0]?.size).toBe("2 nodes (ASG 1..3)");
  });
});
