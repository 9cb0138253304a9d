/**
 * Property-based tests (fast-check): every input surface that parses user input returns a value or typed findings
 * and never throws — the spec parser (objects, YAML text, mutations of valid specs), the repository config, the
 * new-cluster flag parsing, and the validation rules over arbitrarily mutated rendered objects. A spec that parses
 * cleanly always plans, and every planned path stays under clusters/<name>/.
 */
import { versions } from "../src/pins/versions.js";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { stringify } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import type { Finding } from "../src/core/findings.js";
import { parsePoolFlag, type NewClusterFlags } from "../src/cluster-spec/flags.js";
import { resolveNewSpec } from "../src/workflows/new-cluster.js";
import { planCluster, specFile } from "../src/plan/cluster.js";
import { planRepo } from "../src/plan/repo.js";
import { writeTree } from "../src/repo/write.js";
import { parseRepoConfig } from "../src/cluster-spec/config.js";
import { parseSpecObject, parseSpecText, type ParseResult } from "../src/cluster-spec/parse.js";
import { knownRegions, zonesOf } from "../src/cluster-spec/regions.js";
import { kustomizeBuild } from "../src/tools/kustomize.js";
import { checkReferences } from "../src/validate/references.js";
import type { RenderedCluster } from "../src/render/render.js";
import type { K8sObject } from "../src/k8s/object.js";
import { clusterRules, fleetRules, managementRules, syncSafetyRules } from "../src/validate/rules.js";
import { parseYamlStream } from "../src/core/yaml.js";
import { fixtureSpecs, tempDir } from "./helpers.js";

const RUNS = 300;
const SEED = Number(process.env.FC_SEED ?? 20250601);
/** FC_SEED and FC_SCALE (a run multiplier) explore further than the bounded default runs. */
const SCALE = Number(process.env.FC_SCALE ?? 1);
const params = (numRuns = RUNS) => ({ numRuns: Math.round(numRuns * SCALE), seed: SEED });

// ---------------------------------------------------------------------------------------------------------------
// Shared checks

/** Plain assertions: cheap inside properties that run hundreds of times (fast-check reports the counterexample). */
function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

/** Findings are typed: the Finding shape, with a non-empty message and a known severity. */
function expectTypedFindings(findings: unknown): asserts findings is Finding[] {
  check(Array.isArray(findings), `findings is not an array: ${String(findings)}`);
  for (const f of findings as Finding[]) {
    const ok =
      typeof f === "object" &&
      typeof f.rule === "string" &&
      (f.severity === "error" || f.severity === "warning") &&
      typeof f.message === "string" &&
      f.message.length > 0 &&
      (f.path === undefined || typeof f.path === "string") &&
      (f.file === undefined || typeof f.file === "string");
    check(ok, `not a typed finding: ${JSON.stringify(f)}`);
  }
}

/** Every planned path is a clean relative path under clusters/<name>/. */
function expectPlannedUnderCluster(name: string, paths: readonly string[]): void {
  const dir = `clusters/${name}/`;
  for (const p of paths)
    check(
      p.startsWith(dir) && path.posix.normalize(p) === p && !p.split("/").includes("..") && !path.posix.isAbsolute(p),
      `planned path ${p} is not a clean path under ${dir}`,
    );
}

/** How many runs reached planning (each property checks it was exercised, not only the error paths). */
let planned = 0;

/** A parse result is a spec without errors, or typed findings with at least one error; a clean spec plans. */
function checkParseResult(r: ParseResult): void {
  expectTypedFindings(r.findings);
  const errors = r.findings.filter((f) => f.severity === "error");
  if (!r.spec) {
    check(errors.length > 0, "no spec and no error finding");
    return;
  }
  if (errors.length) return;
  const files = [specFile(r.spec), ...planCluster(r.spec, versions().addons)];
  planned++;
  expectPlannedUnderCluster(
    r.spec.name,
    files.map((f) => f.path),
  );
  // The spec as new-cluster writes it reads back as the same spec.
  const again = parseSpecText(specFile(r.spec).content, "cluster.yaml");
  check(again.findings.length === 0, `specFile output does not parse back: ${JSON.stringify(again.findings)}`);
  check(
    isDeepStrictEqual(JSON.parse(JSON.stringify(again.spec)), JSON.parse(JSON.stringify(r.spec))),
    `specFile output reads back differently: ${JSON.stringify(again.spec)}`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Arbitraries

/** Strings that mean something to the parsers and rules, mixed into arbitrary values. */
const INTERESTING_STRINGS = [
  "",
  " ",
  "..",
  "../x",
  "../../../etc",
  "/etc/passwd",
  "a/b",
  "Demo",
  "demo",
  "dé",
  "\u0000",
  "\uFFFD",
  "x".repeat(300),
  "ap-northeast-2",
  "ap-northeast-2a",
  "us-east-1a",
  "mars-1",
  "v1.34.2",
  "v1.36.0",
  "v1.20.0",
  "v2.0.0",
  "1.34",
  "10.0.0.0/16",
  "10.0.0.0/8",
  "10.0.0.1/16",
  "192.168.0.0/16",
  "300.0.0.0/16",
  "fd00::/48",
  "t3.large",
  "MachinePool",
  "MachineDeployment",
  "dev",
  "prod",
  "true",
  "null",
  "~",
  "__proto__",
  "constructor",
  "toString",
  "cluster.x-k8s.io/v1beta2",
  "cluster.x-k8s.io/v1beta1",
  "infrastructure.cluster.x-k8s.io/v1beta2",
  "controlplane.cluster.x-k8s.io/v1beta2",
  "Cluster",
  "KubeadmControlPlane",
  "AWSCluster",
  "AWSMachinePool",
  "AWSMachineTemplate",
  "MachineHealthCheck",
  "Secret",
  "AKIAABCDEFGHIJKLMNOP",
  "-----BEGIN RSA PRIVATE KEY-----",
];
const interestingString = fc.constantFrom(...INTERESTING_STRINGS);
const keyString = fc.oneof(fc.string({ maxLength: 8 }), interestingString);

/** What YAML (and JSON) can produce: JSON values plus NaN, ±Infinity and -0. */
const { value: yamlValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -5, max: 2000 }),
    fc.integer(),
    fc.double(),
    fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e21, 0.5),
    fc.string({ maxLength: 12 }),
    interestingString,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(keyString, tie("value"), { maxKeys: 4 }),
  ),
}));

type Mutation = { pick: number[]; op: "set" | "delete" | "add" | "wrap" | "empty"; key: string; value: unknown };
const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  pick: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
  op: fc.constantFrom("set", "set", "set", "delete", "add", "wrap", "empty"),
  key: keyString,
  value: yamlValue,
});

const isContainer = (v: unknown): v is Record<string, unknown> | unknown[] => v !== null && typeof v === "object";

/**
 * Applies a mutation in place: walks down `pick` (each step chooses a child by index, stopping early at a leaf or
 * with probability by the pick's parity), then sets, deletes, adds a key, wraps the value in an array, or empties it.
 * `minDepth` keeps the top levels (e.g. a rendered object's identity) out of reach.
 */
function mutate(root: unknown, m: Mutation, minDepth = 0): void {
  let parent: Record<string, unknown> | unknown[] | undefined;
  let key: string | number | undefined;
  let node = root;
  for (let i = 0; i < m.pick.length; i++) {
    if (!isContainer(node)) break;
    const keys = Array.isArray(node) ? node.map((_, j) => j) : Object.keys(node);
    if (keys.length === 0) break;
    const k = keys[m.pick[i]! % keys.length]!;
    parent = node;
    key = k;
    node = (node as Record<string | number, unknown>)[k];
    if (i + 1 >= minDepth && m.pick[i]! % 7 === 0) break;
  }
  const depth = parent === undefined ? 0 : 1;
  if (depth < Math.min(1, minDepth)) return;
  const setAt = (v: unknown) => {
    if (parent !== undefined && key !== undefined) (parent as Record<string | number, unknown>)[key] = v;
  };
  switch (m.op) {
    case "set":
      setAt(structuredClone(m.value));
      break;
    case "delete":
      if (parent !== undefined && key !== undefined) {
        if (Array.isArray(parent)) parent.splice(Number(key), 1);
        else delete parent[key];
      }
      break;
    case "add":
      if (isContainer(node)) {
        if (Array.isArray(node)) node.push(structuredClone(m.value));
        else
          Object.defineProperty(node, m.key, {
            value: structuredClone(m.value),
            enumerable: true,
            writable: true,
            configurable: true,
          });
      }
      break;
    case "wrap":
      setAt([node]);
      break;
    case "empty":
      setAt(Array.isArray(node) ? [] : isContainer(node) ? {} : "");
      break;
  }
}

const REGIONS = knownRegions();
/** DNS labels up to `max` characters (built once per size: building a stringMatching arbitrary is costly). */
const dnsLabels = new Map<number, fc.Arbitrary<string>>();
const dnsLabel = (max: number): fc.Arbitrary<string> => {
  let a = dnsLabels.get(max);
  if (!a) dnsLabels.set(max, (a = fc.stringMatching(new RegExp(`^[a-z]([-a-z0-9]{0,${max - 2}}[a-z0-9])?$`))));
  return a;
};

/** A valid (or nearly valid) spec input: some fields explicit, others left to the defaults. */
const specInputArb = fc
  .constantFrom(...REGIONS)
  .chain((region) => {
    const zones = zonesOf(region) ?? [];
    const zoneSet = fc.subarray(zones, { minLength: 1 });
    return fc.record(
      {
        apiVersion: fc.constant("capi-gitops.io/v1alpha1"),
        kind: fc.constant("ClusterSpec"),
        name: dnsLabel(12),
        namespace: dnsLabel(20),
        region: fc.constant(region),
        availabilityZones: zoneSet,
        kubernetesVersion: fc.constantFrom("v1.30.0", "v1.33.1", "v1.34.2", "v1.36.0"),
        profile: fc.constantFrom("dev", "prod"),
        workers: fc.constantFrom("MachinePool", "MachineDeployment"),
        controlPlane: fc.record(
          { replicas: fc.constantFrom(1, 3, 5), instanceType: fc.constantFrom("t3.large", "m6i.xlarge") },
          { requiredKeys: [] },
        ),
        nodePools: fc.array(
          fc.record(
            {
              name: dnsLabel(8),
              instanceType: fc.constantFrom("t3.large", "g5.xlarge"),
              availabilityZones: fc.subarray(zones.slice(0, 1), { minLength: 1 }),
              autoscaling: fc.boolean(),
              minSize: fc.integer({ min: 0, max: 4 }),
              maxSize: fc.integer({ min: 4, max: 12 }),
              labels: fc.dictionary(dnsLabel(6), dnsLabel(6), { maxKeys: 2 }),
            },
            { requiredKeys: ["name"] },
          ),
          { minLength: 1, maxLength: 2 },
        ),
        network: fc.record(
          { vpcCidr: fc.constantFrom("10.0.0.0/16", "10.1.0.0/20", "172.16.0.0/24") },
          { requiredKeys: [] },
        ),
        sshKeyName: fc.constantFrom("ops", "my key"),
      },
      { requiredKeys: ["apiVersion", "kind", "name", "region"] },
    );
  })
  .map((s) => s as Record<string, unknown>);

const mutatedSpecArb = fc.tuple(specInputArb, fc.array(mutationArb, { maxLength: 4 })).map(([spec, ms]) => {
  const copy = structuredClone(spec);
  for (const m of ms) mutate(copy, m);
  return copy;
});

/** YAML-looking text: lines made of YAML tokens, keys of the spec and arbitrary bits. */
const YAML_TOKENS = [
  "apiVersion: capi-gitops.io/v1alpha1\n",
  "kind: ClusterSpec\n",
  "name: demo\n",
  "region: ap-northeast-2\n",
  "repoURL: https://git.example.com/x.git\n",
  "---\n",
  "...\n",
  "- ",
  "  ",
  "\t",
  ": ",
  "&a ",
  "*a",
  "*b",
  "!!str ",
  "!!binary ",
  "!custom ",
  "%YAML 1.2\n",
  "? ",
  "[",
  "]",
  "{",
  "}",
  ",",
  "'",
  '"',
  "|\n",
  ">-\n",
  "# c\n",
  "\n",
  "<<: *a\n",
  "\uFEFF",
  "\uFFFD",
  "\u0085",
];
const yamlishText = fc
  .array(fc.oneof(fc.constantFrom(...YAML_TOKENS), fc.string({ maxLength: 6 }), interestingString), { maxLength: 40 })
  .map((a) => a.join(""));
const anyText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.string({ unit: "grapheme", maxLength: 200 }),
  yamlishText,
);
const toYamlText = (v: unknown) => {
  try {
    return stringify(v);
  } catch {
    return String(v);
  }
};

// ---------------------------------------------------------------------------------------------------------------

describe("spec parser: never throws; a clean spec plans under clusters/<name>/", () => {
  it("parseSpecObject on arbitrary JSON-ish objects", () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.oneof(
            keyString,
            fc.constantFrom("name", "region", "nodePools", "network", "controlPlane", "availabilityZones"),
          ),
          yamlValue,
          { maxKeys: 8 },
        ),
        (input) => {
          checkParseResult(parseSpecObject(input, "clusters/x/cluster.yaml"));
        },
      ),
      params(),
    );
  });

  it("parseSpecObject on valid specs (they plan) and mutations of them", () => {
    planned = 0;
    fc.assert(
      fc.property(specInputArb, (input) => {
        const r = parseSpecObject(structuredClone(input));
        checkParseResult(r);
      }),
      params(200),
    );
    expect(planned, "valid specs that planned").toBeGreaterThan(100);
    planned = 0;
    fc.assert(
      fc.property(mutatedSpecArb, (input) => {
        const before = JSON.stringify(input);
        checkParseResult(parseSpecObject(input));
        check(JSON.stringify(input) === before, "parseSpecObject changed its input");
      }),
      params(500),
    );
    expect(planned, "mutated specs that still planned").toBeGreaterThan(20);
  });

  it("parseSpecText on arbitrary strings and YAML-looking text", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        checkParseResult(parseSpecText(text, "clusters/x/cluster.yaml"));
      }),
      params(500),
    );
  });

  it("parseSpecText on mutated valid specs as YAML, with junk spliced in", () => {
    fc.assert(
      fc.property(mutatedSpecArb, fc.option(fc.tuple(fc.nat(), yamlishText), { nil: undefined }), (input, splice) => {
        let text = toYamlText(input);
        if (splice) {
          const at = splice[0] % (text.length + 1);
          text = text.slice(0, at) + splice[1] + text.slice(at);
        }
        checkParseResult(parseSpecText(text, "clusters/x/cluster.yaml"));
      }),
      params(400),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

const configArb = fc.record(
  {
    apiVersion: fc.constant("capi-gitops.io/v1alpha1"),
    kind: fc.constant("RepositoryConfig"),
    repoURL: fc.constantFrom("https://git.example.com/x.git", "git@github.com:o/r.git", "ssh://git@host/r"),
    branch: fc.constantFrom("main", "release/1.0"),
    gitops: fc.constantFrom("argocd", "flux"),
    argocd: fc.record(
      {
        namespace: dnsLabel(10),
        project: dnsLabel(10),
        destinationServer: fc.constant("https://kubernetes.default.svc"),
      },
      { requiredKeys: [] },
    ),
    flux: fc.record(
      {
        namespace: dnsLabel(10),
        gitRepository: dnsLabel(10),
        interval: fc.constantFrom("5m", "1h30m", "10s"),
        secretRef: dnsLabel(10),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ["apiVersion", "kind", "repoURL"] },
);

describe("repository config: never throws", () => {
  const checkConfig = (r: ReturnType<typeof parseRepoConfig>) => {
    expectTypedFindings(r.findings);
    if (!r.config) check(r.findings.length > 0, "no config and no finding");
    else
      check(
        r.findings.length === 0 && typeof r.config.repoURL === "string" && ["argocd", "flux"].includes(r.config.gitops),
        `odd config ${JSON.stringify(r)}`,
      );
    for (const f of r.findings) check(f.file === "capi-gitops.yaml", `finding names no file: ${JSON.stringify(f)}`);
  };
  it("parseRepoConfig on arbitrary text", () => {
    fc.assert(
      fc.property(anyText, (text) => checkConfig(parseRepoConfig(text))),
      params(500),
    );
  });
  it("parseRepoConfig on valid configs and mutations of them, as YAML", () => {
    fc.assert(
      fc.property(configArb, fc.array(mutationArb, { maxLength: 4 }), (cfg, ms) => {
        const copy = structuredClone(cfg) as Record<string, unknown>;
        for (const m of ms) mutate(copy, m);
        checkConfig(parseRepoConfig(toYamlText(copy)));
      }),
      params(400),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

const POOL_PARTS = [
  "name=",
  "instance-type=",
  "zones=",
  "min-size=",
  "max-size=",
  "autoscaling=",
  "replicas=",
  "kubernetes-version=",
  "labels=",
  ",",
  "+",
  ":",
  "=",
  "a",
  "gpu",
  "-1",
  "0",
  "3",
  "1e3",
  "true",
  "false",
  "ap-northeast-2a",
  "t3.large",
  "v1.34.0",
  "k:v",
  "kubernetes.io/role:x",
  " ",
];
const poolText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc
    .array(fc.oneof(fc.constantFrom(...POOL_PARTS), fc.string({ maxLength: 4 })), { maxLength: 16 })
    .map((a) => a.join("")),
);
const flagValue = (...plausible: string[]) =>
  fc.oneof(fc.string({ maxLength: 20 }), interestingString, fc.constantFrom(...plausible));

const flagsArb: fc.Arbitrary<NewClusterFlags> = fc.record(
  {
    name: flagValue("demo", "x", "a-b", "a".repeat(41)),
    namespace: flagValue("demo", "ns"),
    region: flagValue(...REGIONS.slice(0, 5), "ap-northeast-2"),
    zones: flagValue("ap-northeast-2a,ap-northeast-2b", "ap-northeast-2a,ap-northeast-2a", ",", "us-east-1a"),
    kubernetesVersion: flagValue("v1.34.2", "v1.30.0", "v1.29.9"),
    profile: flagValue("dev", "prod"),
    workers: flagValue("MachinePool", "MachineDeployment"),
    controlPlaneReplicas: flagValue("1", "3", "0", "-1", "2", "9", "11", " 3 ", "3.0", "0x3", "99999999999999999999"),
    controlPlaneInstanceType: flagValue("t3.large"),
    pool: fc.array(poolText, { maxLength: 3 }),
    vpcCidr: flagValue("10.0.0.0/16", "10.0.0.0/8", "10.0.0.0/25"),
    podCidr: flagValue("192.168.0.0/16", "10.0.0.0/8"),
    serviceCidr: flagValue("10.96.0.0/12"),
    sshKeyName: flagValue("ops", ""),
  },
  { requiredKeys: [] },
);

/** Mostly-valid flags: a valid name and region, other flags mostly valid values, sometimes arbitrary ones. */
const mostly = (valid: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 6, arbitrary: valid },
    { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 12 }), interestingString) },
  );
const plausibleFlagsArb: fc.Arbitrary<NewClusterFlags> = fc.record(
  {
    name: dnsLabel(12),
    region: fc.constant("ap-northeast-2"),
    namespace: mostly(dnsLabel(12)),
    zones: mostly(
      fc.constantFrom("ap-northeast-2a", "ap-northeast-2a,ap-northeast-2c", "ap-northeast-2b, ap-northeast-2d"),
    ),
    kubernetesVersion: mostly(fc.constantFrom("v1.30.0", "v1.34.2", "v1.36.1")),
    profile: mostly(fc.constantFrom("dev", "prod")),
    workers: mostly(fc.constantFrom("MachinePool", "MachineDeployment")),
    controlPlaneReplicas: mostly(fc.constantFrom("1", "3", "5")),
    pool: fc.array(
      mostly(
        fc.constantFrom(
          "name=a",
          "name=gpu,instance-type=g5.xlarge,min-size=0,max-size=4",
          "name=b,autoscaling=false,replicas=2,min-size=1,max-size=3",
          "name=c,labels=team:x+tier:web",
        ),
      ),
      { maxLength: 2 },
    ),
    vpcCidr: mostly(fc.constantFrom("10.0.0.0/16", "10.20.0.0/20")),
    sshKeyName: mostly(fc.constantFrom("ops")),
  },
  { requiredKeys: ["name", "region"] },
);

describe("new-cluster flag parsing: never throws", () => {
  it("parsePoolFlag on arbitrary --pool values", () => {
    fc.assert(
      fc.property(poolText, (text) => {
        const findings: Finding[] = [];
        const pool = parsePoolFlag(text, findings);
        expectTypedFindings(findings);
        check(pool === undefined || (typeof pool === "object" && pool !== null), "parsePoolFlag returned a non-object");
        for (const f of findings)
          check(/^--pool/.test(f.path ?? ""), `finding does not name --pool: ${JSON.stringify(f)}`);
      }),
      params(500),
    );
  });

  it(`resolveNewSpec on arbitrary and mostly-valid flags: findings name a flag; \
a spec plans under clusters/<name>/`, () => {
    let specs = 0;
    fc.assert(
      fc.property(fc.oneof(flagsArb, plausibleFlagsArb), (flags) => {
        const r = resolveNewSpec(structuredClone(flags));
        expectTypedFindings(r.findings);
        const errors = r.findings.filter((f) => f.severity === "error");
        if (!r.spec) {
          check(errors.length > 0, "no spec and no error finding");
          for (const f of errors) check(/^--[a-z]/.test(f.path ?? ""), `finding names no flag: ${JSON.stringify(f)}`);
          return;
        }
        check(errors.length === 0, "a spec with errors");
        specs++;
        expectPlannedUnderCluster(
          r.spec.name,
          [specFile(r.spec), ...planCluster(r.spec, versions().addons)].map((f) => f.path),
        );
      }),
      params(500),
    );
    expect(specs, "flag sets that made a spec").toBeGreaterThan(20);
  });
});

// ---------------------------------------------------------------------------------------------------------------

/** The fixture clusters, really rendered by kustomize once. */
const rendered = new Map<string, K8sObject[]>();
beforeAll(async () => {
  const specs = fixtureSpecs();
  const t = await tempDir();
  try {
    await writeTree(t.dir, planRepo({ specs }, versions()));
    for (const s of specs)
      rendered.set(s.name, parseYamlStream(await kustomizeBuild(t.dir, `clusters/${s.name}`)) as K8sObject[]);
  } finally {
    await t.cleanup();
  }
});

/**
 * Mutations that only reach below an object's identity (what kustomize guarantees: apiVersion, kind, metadata.name).
 */
const renderMutationArb = fc.record({
  object: fc.nat(),
  m: mutationArb,
  retarget: fc.option(fc.constantFrom(...INTERESTING_STRINGS.filter((s) => /^[A-Z]/.test(s))), { nil: undefined }),
});

function mutatedRender(
  cluster: string,
  ms: { object: number; m: Mutation; retarget?: string }[],
  wild: boolean,
): RenderedCluster {
  const objects = structuredClone(rendered.get(cluster)!) as unknown as Record<string, unknown>[];
  for (const { object, m, retarget } of ms) {
    const o = objects[object % objects.length]!;
    if (retarget && isContainer(o)) o.kind = retarget; // another kind, so other rules see this object's shape
    if (wild) mutate(objects, m);
    else {
      mutate(o, m, 1);
      // Keep what kustomize guarantees for every object it emits.
      if (typeof o.apiVersion !== "string") o.apiVersion = "v1";
      if (typeof o.kind !== "string") o.kind = "ConfigMap";
      if (!isContainer(o.metadata) || Array.isArray(o.metadata)) o.metadata = { name: "x" };
      const meta = o.metadata as Record<string, unknown>;
      if (typeof meta.name !== "string") meta.name = "x";
    }
  }
  return { cluster, objects: objects as unknown as K8sObject[], origins: objects.map(() => undefined) };
}

describe("validation rules: never throw on mutated rendered objects", () => {
  const clusters = () => [...rendered.keys()];
  const runAll = (rc: RenderedCluster) => {
    expectTypedFindings(checkReferences(rc.objects, { cluster: rc.cluster, file: "f" }));
    expectTypedFindings(clusterRules(rc, `clusters/${rc.cluster}/kustomization.yaml`));
    expectTypedFindings(syncSafetyRules(rc));
    expectTypedFindings(fleetRules([rc, rc]));
    expectTypedFindings(managementRules(rc.objects, "management/sync/kustomization.yaml"));
  };

  it("the unmutated renders give no errors (the property starts from a clean render)", () => {
    for (const c of clusters()) {
      const rc = mutatedRender(c, [], false);
      expect(clusterRules(rc, "f").filter((f) => f.severity === "error")).toEqual([]);
    }
  });

  it(`clusterRules, checkReferences, syncSafetyRules, fleetRules, managementRules: \
fields below each object's identity`, () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(renderMutationArb, { minLength: 1, maxLength: 5 }), (c, ms) => {
        const names = clusters();
        runAll(mutatedRender(names[c % names.length]!, ms, false));
      }),
      params(500),
    );
  });

  it.each(["constructor", "__proto__", "toString", "hasOwnProperty"])(
    "an AWSCluster region named %s is an unknown region, not a crash",
    (region) => {
      const rc = mutatedRender(clusters()[0]!, [], false);
      const aws = rc.objects.find((o) => o.kind === "AWSCluster")!;
      aws.spec!.region = region;
      const findings = clusterRules(rc, "f");
      expect(findings.map((f) => f.rule)).toContain("region-known");
    },
  );

  it("the same rules on anything YAML could hold: whole objects, identities and metadata mutated too", () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(renderMutationArb, { minLength: 1, maxLength: 5 }), (c, ms) => {
        const names = clusters();
        runAll(mutatedRender(names[c % names.length]!, ms, true));
      }),
      params(300),
    );
  });
});
