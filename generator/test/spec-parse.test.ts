import { describe, expect, it } from "vitest";
import { parseSpecObject, parseSpecText, checkVersion, labelKeyProblem } from "../src/cluster-spec/parse.js";
import { defaultZones, regionOfZone } from "../src/cluster-spec/regions.js";
import { reservedNamespaces } from "../src/cluster-spec/reserved.js";
import { PROVIDERS } from "../src/core/providers.js";
import { fleetFindings } from "../src/repo/load.js";

const base = { apiVersion: "capi-gitops.io/v1alpha1", kind: "ClusterSpec", name: "demo", region: "ap-northeast-2" };
const y = (o: Record<string, unknown>) => ({ ...base, ...o });

describe("parseSpecObject: defaults", () => {
  it("fills every default from the dev profile", () => {
    const { spec, findings } = parseSpecObject(base);
    expect(findings).toEqual([]);
    expect(spec).toMatchObject({
      namespace: "demo",
      availabilityZones: ["ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c"],
      kubernetesVersion: "v1.34.8",
      profile: "dev",
      workers: "MachineDeployment",
      controlPlane: { replicas: 1, instanceType: "t3.large" },
      nodePools: [{ name: "default", instanceType: "t3.large", autoscaling: true, minSize: 1, maxSize: 3, labels: {} }],
      network: { vpcCidr: "10.0.0.0/16", podCidr: "192.168.0.0/16", serviceCidr: "10.96.0.0/12" },
    });
    expect(spec?.nodePools[0]?.replicas).toBeUndefined();
  });
  it("takes size defaults from the prod profile", () => {
    const { spec } = parseSpecObject(y({ profile: "prod" }));
    expect(spec?.controlPlane).toEqual({ replicas: 3, instanceType: "m6i.xlarge" });
    expect(spec?.nodePools[0]).toMatchObject({ minSize: 3, maxSize: 12 });
  });
  it("a fixed pool gets replicas = minSize", () => {
    const { spec } = parseSpecObject(y({ nodePools: [{ name: "a", autoscaling: false, minSize: 2, maxSize: 5 }] }));
    expect(spec?.nodePools[0]?.replicas).toBe(2);
  });
});

// Table: input → [field path, rule] expected among the findings.
const bad: [string, Record<string, unknown>, string, string][] = [
  ["uppercase name", y({ name: "Demo" }), "name", "spec-schema"],
  ["underscore name", y({ name: "demo_1" }), "name", "spec-schema"],
  ["dotdot name", y({ name: "../x" }), "name", "spec-schema"],
  ["slash name", y({ name: "a/b" }), "name", "spec-schema"],
  ["empty name", y({ name: "" }), "name", "spec-schema"],
  ["too long name", y({ name: "a".repeat(41) }), "name", "spec-schema"],
  ["unicode name", y({ name: "démo" }), "name", "spec-schema"],
  ["unknown region", y({ region: "mars-1" }), "region", "spec-schema"],
  ["AZ of another region", y({ availabilityZones: ["us-east-1a"] }), "availabilityZones.0", "az-in-region"],
  ["AZ letter the region lacks", y({ availabilityZones: ["ap-northeast-2f"] }), "availabilityZones.0", "az-in-region"],
  [
    "duplicate AZs",
    y({ availabilityZones: ["ap-northeast-2a", "ap-northeast-2a"] }),
    "availabilityZones",
    "spec-schema",
  ],
  [
    "pool AZ outside the cluster's",
    y({ availabilityZones: ["ap-northeast-2a"], nodePools: [{ name: "p", availabilityZones: ["ap-northeast-2b"] }] }),
    "nodePools.0.availabilityZones.0",
    "pool-az-subset",
  ],
  ["even control plane", y({ controlPlane: { replicas: 2 } }), "controlPlane.replicas", "kcp-replicas-odd"],
  ["zero control plane", y({ controlPlane: { replicas: 0 } }), "controlPlane.replicas", "spec-schema"],
  ["negative control plane", y({ controlPlane: { replicas: -1 } }), "controlPlane.replicas", "spec-schema"],
  ["min > max", y({ nodePools: [{ name: "p", minSize: 5, maxSize: 2 }] }), "nodePools.0.minSize", "pool-size"],
  [
    "autoscaled with replicas",
    y({ nodePools: [{ name: "p", replicas: 2 }] }),
    "nodePools.0.replicas",
    "autoscaled-no-replicas",
  ],
  [
    "fixed replicas outside bounds",
    y({ nodePools: [{ name: "p", autoscaling: false, minSize: 1, maxSize: 2, replicas: 5 }] }),
    "nodePools.0.replicas",
    "pool-size",
  ],
  ["duplicate pool names", y({ nodePools: [{ name: "p" }, { name: "p" }] }), "nodePools.1.name", "pool-unique"],
  ["malformed version", y({ kubernetesVersion: "1.34" }), "kubernetesVersion", "spec-schema"],
  ["unsupported version", y({ kubernetesVersion: "v1.20.0" }), "kubernetesVersion", "k8s-version"],
  [
    "pool newer than control plane",
    y({ kubernetesVersion: "v1.33.0", nodePools: [{ name: "p", kubernetesVersion: "v1.34.0" }] }),
    "nodePools.0.kubernetesVersion",
    "kubelet-skew",
  ],
  [
    "pool 4 minors older",
    y({ kubernetesVersion: "v1.35.0", nodePools: [{ name: "p", kubernetesVersion: "v1.31.0" }] }),
    "nodePools.0.kubernetesVersion",
    "kubelet-skew",
  ],
  ["malformed CIDR", y({ network: { vpcCidr: "10.0.0/16" } }), "network.vpcCidr", "cidr-valid"],
  ["CIDR with host bits", y({ network: { vpcCidr: "10.0.0.5/16" } }), "network.vpcCidr", "cidr-valid"],
  ["VPC too small", y({ network: { vpcCidr: "10.0.0.0/26" } }), "network.vpcCidr", "cidr-valid"],
  ["pods overlap VPC", y({ network: { podCidr: "10.0.128.0/17" } }), "network.podCidr", "cidr-overlap"],
  ["services overlap pods", y({ network: { serviceCidr: "192.168.0.0/24" } }), "network.serviceCidr", "cidr-overlap"],
  [
    "restricted label",
    y({ nodePools: [{ name: "p", labels: { "node-role.kubernetes.io/worker": "" } }] }),
    "nodePools.0.labels",
    "label-valid",
  ],
  ["unknown field", y({ replicas: 3 }), "replicas", "spec-schema"],
  ["wrong type", y({ controlPlane: { replicas: "three" } }), "controlPlane.replicas", "spec-schema"],
  ["wrong kind", y({ kind: "Cluster" }), "kind", "spec-schema"],
  [
    "MD pool smaller than its zones",
    y({ workers: "MachineDeployment", nodePools: [{ name: "p", minSize: 1, maxSize: 2 }] }),
    "nodePools.0.maxSize",
    "pool-size",
  ],
  [
    "derived name too long",
    y({ name: "a".repeat(40), workers: "MachineDeployment", nodePools: [{ name: "b".repeat(20), maxSize: 3 }] }),
    "nodePools.0.name",
    "name-length",
  ],
];

describe("parseSpecObject: bad input names the field", () => {
  it.each(bad)("%s", (_label, input, path, rule) => {
    const { findings } = parseSpecObject(input);
    expect(findings.map((f) => [f.path, f.rule])).toContainEqual([path, rule]);
    expect(findings.every((f) => f.severity === "error" && f.message.length > 5)).toBe(true);
  });
});

describe("parseSpecText", () => {
  it.each([
    ["several documents", "name: a\n---\nname: b\n", /several YAML documents/],
    ["duplicate keys", "name: a\nname: b\n", /YAML error/],
    ["not a mapping", "- a\n- b\n", /must hold a mapping/],
    [
      "alias bomb",
      `a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n` +
        `d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n`,
      /aliases|YAML error/,
    ],
    ["oversized", `name: ${"a".repeat(70_000)}\n`, /larger than/],
    ["not UTF-8", Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xff, 0xfe]).toString("utf8"), /UTF-8/],
  ])("%s is a finding, not a crash", (_l, text, re) => {
    const r = parseSpecText(text, "clusters/x/cluster.yaml");
    expect(r.spec).toBeUndefined();
    expect(r.findings[0]?.message).toMatch(re);
    expect(r.findings[0]?.file).toBe("clusters/x/cluster.yaml");
  });
  it("parses a valid file", () => {
    const r = parseSpecText("apiVersion: capi-gitops.io/v1alpha1\nkind: ClusterSpec\nname: a\nregion: eu-west-1\n");
    expect(r.findings).toEqual([]);
    expect(r.spec?.availabilityZones).toEqual(["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
  });
});

describe("helpers", () => {
  it.each([
    ["v1.34.2", true],
    ["v1.36.0", true],
    ["v1.29.9", false],
    ["v2.0.0", false],
    ["1.34.2", false],
    ["v1.34", false],
  ])("checkVersion(%s) ok=%s", (v, ok) => expect(typeof checkVersion(v) !== "string").toBe(ok));
  it.each([
    ["team", undefined],
    ["example.com/team", undefined],
    ["node.kubernetes.io/pool", undefined],
    ["kubernetes.io/hostname", "NodeRestriction"],
    ["node-role.kubernetes.io/worker", "NodeRestriction"],
    ["-bad", "name part"],
  ])("labelKeyProblem(%s)", (k, expected) => {
    const p = labelKeyProblem(k);
    if (expected === undefined) expect(p).toBeUndefined();
    else expect(p).toContain(expected);
  });
  it("zones and regions", () => {
    expect(defaultZones("us-east-1")).toEqual(["us-east-1a", "us-east-1b", "us-east-1c"]);
    expect(regionOfZone("ap-northeast-2c")).toBe("ap-northeast-2");
    expect(regionOfZone("nope")).toBeUndefined();
  });
});

describe("issue 9 item 13: CIDR sizes the cluster's Kubernetes refuses", () => {
  const net = (o: Record<string, string>, kubernetesVersion = "v1.33.4") =>
    y({
      kubernetesVersion,
      network: { vpcCidr: "10.0.0.0/16", podCidr: "192.168.0.0/16", serviceCidr: "172.20.0.0/16", ...o },
    });
  const sizeFindings = (input: Record<string, unknown>) =>
    parseSpecObject(input)
      .findings.filter((f) => f.rule === "cidr-size")
      .map((f) => f.path);
  it.each([
    ["13: pod CIDR /30 holds no node /24", net({ podCidr: "192.168.0.0/30" }), ["network.podCidr"]],
    ["13: pod CIDR /25 holds no node /24", net({ podCidr: "192.168.0.0/25" }), ["network.podCidr"]],
    ["13: pod CIDR /24 holds one node", net({ podCidr: "192.168.0.0/24" }), []],
    [
      "13: service CIDR /8 on v1.30 (bitmap allocator, /12 at most)",
      net({ serviceCidr: "11.0.0.0/8" }, "v1.30.2"),
      ["network.serviceCidr"],
    ],
    [
      "13: service CIDR /11 on v1.33 (dual-write keeps the /12 limit)",
      net({ serviceCidr: "11.0.0.0/11" }, "v1.33.4"),
      ["network.serviceCidr"],
    ],
    ["13: service CIDR /12 on v1.33", net({ serviceCidr: "11.0.0.0/12" }, "v1.33.4"), []],
    [
      "13: service CIDR /8 on v1.34 (IPAddress allocator, no upper limit)",
      net({ serviceCidr: "11.0.0.0/8" }, "v1.34.2"),
      [],
    ],
    [
      "13: service CIDR /30 holds fewer than 8 addresses",
      net({ serviceCidr: "172.20.0.0/30" }, "v1.34.2"),
      ["network.serviceCidr"],
    ],
    ["13: service CIDR /29 holds 8 addresses", net({ serviceCidr: "172.20.0.0/29" }, "v1.34.2"), []],
  ])("%s", (_l, input, expected) => expect(sizeFindings(input)).toEqual(expected));

  it("13: the message names the field, the limit and the version", () => {
    const f = parseSpecObject(net({ serviceCidr: "11.0.0.0/8" }, "v1.31.0")).findings.find(
      (x) => x.rule === "cidr-size",
    );
    expect(f).toMatchObject({ path: "network.serviceCidr", severity: "error" });
    expect(f?.message).toMatch(/v1\.31.*\/12/);
  });
});

describe("reserved namespaces (issue 9, item 4)", () => {
  const reserved = [
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "default",
    "capi-system",
    "capa-system",
    "capi-kubeadm-bootstrap-system",
    "capi-kubeadm-control-plane-system",
    "capi-operator-system",
    "cert-manager",
    "argocd",
    "flux-system",
  ];
  it.each(reserved)("4: namespace %s is refused", (namespace) => {
    const { findings } = parseSpecObject(y({ namespace }));
    const f = findings.find((x) => x.rule === "namespace-reserved");
    expect(f).toMatchObject({ path: "namespace", severity: "error" });
    expect(f!.message).toContain(`"${namespace}"`);
  });
  it("4: a cluster named like a reserved namespace (namespace defaults to the name) is refused", () => {
    expect(parseSpecObject(y({ name: "capa-system" })).findings.map((f) => f.rule)).toContain("namespace-reserved");
  });
  it("4: the list takes the providers' namespaces from plan/providers.ts and the engine's from the config", () => {
    for (const p of PROVIDERS) expect(reservedNamespaces()).toContain(p.namespace);
    const config = {
      argocd: { namespace: "gitops", project: "p", destinationServer: "https://kubernetes.default.svc" },
      flux: { namespace: "flux", gitRepository: "g", interval: "5m" },
      rollout: { rings: [{ name: "main" }] },
    };
    expect(reservedNamespaces(config)).toEqual(expect.arrayContaining(["gitops", "flux"]));
    const spec = parseSpecObject(y({ namespace: "gitops" })).spec!;
    const findings = fleetFindings([spec], config as never);
    expect(findings).toEqual([
      expect.objectContaining({ path: "namespace", rule: "namespace-reserved", severity: "error" }),
    ]);
    expect(fleetFindings([spec])).toEqual([]);
  });
  it("4: an ordinary namespace is accepted", () => {
    expect(parseSpecObject(y({ namespace: "team-a" })).findings).toEqual([]);
  });
});
