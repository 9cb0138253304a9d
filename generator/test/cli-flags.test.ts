/**
 * The one CLI definition: `--pool` parsing, spec flags → spec input, findings → flags, help derived from the tables.
 */
import { describe, expect, it } from "vitest";
import type { Finding } from "../src/core/findings.js";
import { COMMANDS, commandHelp, topHelp } from "../src/cli/definition.js";
import { flagFor, parsePoolFlag, POOL_KEYS, SPEC_FLAGS, specInputFromFlags } from "../src/cluster-spec/flags.js";
import { resolveNewSpec } from "../src/workflows/new-cluster.js";
import { runCli } from "./helpers.js";
import { parseCommandLine } from "../src/cli.js";
import { UsageError } from "../src/core/errors.js";

describe("--pool parsing", () => {
  it.each<[string, Record<string, unknown>, string[]]>([
    ["name=a", { name: "a" }, []],
    ["name=gpu,instance-type=g5.xlarge", { name: "gpu", instanceType: "g5.xlarge" }, []],
    [
      "name=a,zones=ap-northeast-2a+ap-northeast-2b",
      { name: "a", availabilityZones: ["ap-northeast-2a", "ap-northeast-2b"] },
      [],
    ],
    ["name=a,zones=ap-northeast-2a++", { name: "a", availabilityZones: ["ap-northeast-2a"] }, []],
    ["name=a,min-size=0,max-size=4", { name: "a", minSize: 0, maxSize: 4 }, []],
    ["name=a,replicas=2", { name: "a", replicas: 2 }, []],
    ["name=a,autoscaling=false", { name: "a", autoscaling: false }, []],
    ["name=a,autoscaling=true", { name: "a", autoscaling: true }, []],
    ["name=a,kubernetes-version=v1.33.0", { name: "a", kubernetesVersion: "v1.33.0" }, []],
    ["name=a,labels=k:v+example.com/k2:v2", { name: "a", labels: { k: "v", "example.com/k2": "v2" } }, []],
    ["name=a,labels=flag", { name: "a", labels: { flag: "" } }, []],
    ["name=a,labels=k:a:b", { name: "a", labels: { k: "a:b" } }, []],
    [" name = a , instance-type = m6i.large ", { name: "a", instanceType: "m6i.large" }, []],
    ["name=a,,", { name: "a" }, []],
    ["name=a,min-size=x", { name: "a", minSize: undefined }, ["--pool min-size"]],
    ["name=a,max-size=1.5", { name: "a", maxSize: undefined }, ["--pool max-size"]],
    ["name=a,replicas=two", { name: "a", replicas: undefined }, ["--pool replicas"]],
    ["name=a,autoscaling=maybe", { name: "a", autoscaling: false }, ["--pool autoscaling"]],
    ["name=a,color=red", { name: "a" }, ["--pool"]],
    ["name", {}, ["--pool", "--pool"]],
    ["min-size=1", { minSize: 1 }, ["--pool"]],
  ])("%s", (text, pool, flags) => {
    const findings: Finding[] = [];
    expect(parsePoolFlag(text, findings)).toEqual(pool);
    expect(findings.map((f) => f.path)).toEqual(flags);
    for (const f of findings) expect(f.severity).toBe("error");
  });

  it("names every key in the message about an unknown one", () => {
    const findings: Finding[] = [];
    parsePoolFlag("name=a,color=red", findings);
    for (const k of POOL_KEYS) expect(findings[0]!.message).toContain(k.key);
  });

  it("a pool given on the command line lands in the spec", () => {
    const { spec, findings } = resolveNewSpec({
      name: "x",
      region: "ap-northeast-2",
      pool: ["name=gpu,zones=ap-northeast-2a,labels=k:v,min-size=0,max-size=2"],
    });
    expect(findings).toEqual([]);
    expect(spec!.nodePools).toEqual([
      expect.objectContaining({
        name: "gpu",
        availabilityZones: ["ap-northeast-2a"],
        labels: { k: "v" },
        minSize: 0,
        maxSize: 2,
      }),
    ]);
  });
});

describe("spec flags → spec input", () => {
  it("every flag sets its field", () => {
    const { input, findings } = specInputFromFlags({
      name: "x",
      namespace: "ns",
      region: "eu-west-1",
      zones: "eu-west-1a, eu-west-1b",
      kubernetesVersion: "v1.33.1",
      profile: "prod",
      workers: "MachineDeployment",
      controlPlaneReplicas: "3",
      controlPlaneInstanceType: "m6i.large",
      pool: ["name=a"],
      vpcCidr: "10.1.0.0/16",
      podCidr: "192.168.0.0/16",
      serviceCidr: "10.96.0.0/12",
      cni: "calico",
      storage: "none",
      apiServerScheme: "internal",
      apiAllowedCidrs: "10.0.0.0/8,192.0.2.0/24",
      imageId: "ami-0123456789abcdef0",
      imageLookupOrg: "123456789012",
      imageLookupFormat: "fmt",
      imageLookupBaseOS: "ubuntu-24.04",
      sshKeyName: "key",
    });
    expect(findings).toEqual([]);
    expect(input).toEqual({
      apiVersion: "capi-gitops.io/v1alpha1",
      kind: "ClusterSpec",
      name: "x",
      namespace: "ns",
      region: "eu-west-1",
      availabilityZones: ["eu-west-1a", "eu-west-1b"],
      kubernetesVersion: "v1.33.1",
      profile: "prod",
      workers: "MachineDeployment",
      controlPlane: { replicas: 3, instanceType: "m6i.large" },
      nodePools: [{ name: "a" }],
      network: { vpcCidr: "10.1.0.0/16", podCidr: "192.168.0.0/16", serviceCidr: "10.96.0.0/12", cni: "calico" },
      storage: "none",
      apiServer: { scheme: "internal", allowedCidrs: ["10.0.0.0/8", "192.0.2.0/24"] },
      image: {
        id: "ami-0123456789abcdef0",
        lookupOrg: "123456789012",
        lookupFormat: "fmt",
        lookupBaseOS: "ubuntu-24.04",
        kubernetesVersion: "v1.33.1",
      },
      sshKeyName: "key",
    });
  });

  it("only what was given; a bad number is a finding on its flag and sets nothing", () => {
    expect(specInputFromFlags({}).input).toEqual({ apiVersion: "capi-gitops.io/v1alpha1", kind: "ClusterSpec" });
    const r = specInputFromFlags({ controlPlaneReplicas: "3.5" });
    expect(r.input.controlPlane).toBeUndefined();
    expect(r.findings.map((f) => f.path)).toEqual(["--control-plane-replicas"]);
  });

  it.each([
    ["name", "--name"],
    ["availabilityZones", "--zones"],
    ["availabilityZones.1", "--zones"],
    ["controlPlane.replicas", "--control-plane-replicas"],
    ["nodePools.0.minSize", "--pool"],
    ["network.serviceCidr", "--service-cidr"],
    ["network", undefined],
    ["nameSuffix", undefined],
    [undefined, undefined],
  ])("the finding on %s names %s", (field, flag) => expect(flagFor(field)).toBe(flag));
});

describe("help, derived from the definition", () => {
  it("every command's help lists each of its flags, and the top help lists every command", () => {
    for (const c of COMMANDS) {
      const help = commandHelp(c);
      for (const f of c.flags) expect(help, `${c.name} --${f.flag}`).toContain(`--${f.flag}`);
      expect(topHelp()).toContain(`  ${c.name} `);
    }
    for (const f of SPEC_FLAGS)
      expect(commandHelp(COMMANDS.find((c) => c.name === "new-cluster")!)).toContain(`--${f.flag} ${f.value}`);
    for (const k of POOL_KEYS)
      expect(commandHelp(COMMANDS.find((c) => c.name === "new-cluster")!)).toContain(`${k.key}=`);
  });

  it("every declared flag parses (no flag is in the help only)", async () => {
    for (const c of COMMANDS)
      for (const f of c.flags) {
        const r = await runCli([
          c.name,
          `--${f.flag}`,
          ...(f.type === "string" || f.type === "strings" ? ["v"] : []),
          "--help",
        ]);
        expect(r.exitCode, `${c.name} --${f.flag}: ${r.stderr}`).toBe(0);
      }
  });

  const cmd = (name: string) => COMMANDS.find((c) => c.name === name)!;
  it.each<[string[], unknown]>([
    [["--name", "x", "--push"], "origin"],
    [["--push", "--name", "x"], "origin"],
    [["--push", "upstream", "--name", "x"], "upstream"],
    [["--push=upstream"], "upstream"],
    [["--name", "x"], undefined],
  ])("remove-cluster %j: push is %s", (args, push) =>
    expect(parseCommandLine(cmd("remove-cluster"), args).values.push).toBe(push),
  );

  it("--pool is repeatable, other value flags are not; validate alone takes positionals", () => {
    expect(parseCommandLine(cmd("new-cluster"), ["--pool", "name=a", "--pool", "name=b", "-y"]).values).toMatchObject({
      pool: ["name=a", "name=b"],
      yes: true,
    });
    expect(() => parseCommandLine(cmd("new-cluster"), ["--zones", "a", "--zones", "b"])).toThrow(UsageError);
    expect(() => parseCommandLine(cmd("new-cluster"), ["--zones", "a", "--zones", "b"])).toThrow(
      /--zones is given 2 times/,
    );
    expect(parseCommandLine(cmd("validate"), ["a", "b", "--skip-cel"]).positionals).toEqual(["a", "b"]);
    expect(() => parseCommandLine(cmd("generate"), ["a"])).toThrow(UsageError);
    expect(() => parseCommandLine(cmd("generate"), ["--name", "x"])).toThrow(/--name/);
  });

  it("a flag that stands alone (e2e --build-only) takes --repo and no other flag of its command", () => {
    const e2e = cmd("e2e");
    expect(parseCommandLine(e2e, ["--build-only", "--repo", "/x"]).values).toMatchObject({ "build-only": true });
    for (const other of e2e.flags.filter((f) => f.flag !== "build-only" && f.flag !== "repo")) {
      const argv = ["--build-only", `--${other.flag}`, ...(other.type === "boolean" ? [] : ["v"])];
      expect(() => parseCommandLine(e2e, argv)).toThrow(
        new RegExp(`^--build-only runs nothing, so --${other.flag} cannot go with it`),
      );
    }
    // the same flags without it parse
    expect(parseCommandLine(e2e, ["--no-fixtures", "--plant", "v"]).values).toMatchObject({ "no-fixtures": true });
  });
});
