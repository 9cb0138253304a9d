/**
 * The pure parts of `npm run e2e` (generator/src/e2e/plan.ts, tools/control-plane.ts): the spec changes, the steps'
 * expectations, the go.mod rewrite of the control-plane build and the reading of `go test -json`. The suite itself
 * (a real kube-apiserver) runs in `npm run e2e`; e2e-fault.test.ts runs it on a planted fault.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  asStored,
  changeSpec,
  createStep,
  denialText,
  expectedDefaults,
  featureGates,
  otherInstanceType,
  summarize,
  TEARDOWN_OK,
  templateEditInPlace,
  updateStep,
} from "../src/e2e/plan.js";
import { E2E_BINARIES, e2ePins, replaceEdits } from "../src/tools/control-plane.js";
import { versions } from "../src/pins/versions.js";
import type { AdmissionResult } from "../src/tools/admission.js";
import type { GoTestEvent } from "../src/tools/go.js";
import type { K8sObject } from "../src/k8s/object.js";

const SPEC = `# a comment that stays
apiVersion: capi-gitops.io/v1alpha1
kind: ClusterSpec
name: demo
region: us-east-1
availabilityZones: [us-east-1a, us-east-1b, us-east-1c]
kubernetesVersion: v1.34.2
nodePools:
  - name: default
    instanceType: t3.large
    availabilityZones: [us-east-1a, us-east-1b]
    minSize: 1
    maxSize: 3
  - name: pinned
    instanceType: m5.large
    availabilityZones: [us-east-1c]
    kubernetesVersion: v1.33.4
`;

describe("changeSpec", () => {
  it("accepted: instance type, zones reordered, a pool added, minor +1 that pools without a version follow", () => {
    const out = changeSpec(SPEC, "accepted");
    expect(out).toContain("# a comment that stays");
    const s = parse(out);
    expect(s.kubernetesVersion).toBe("v1.35.0");
    expect(s.nodePools.map((p: { name: string }) => p.name)).toEqual(["default", "pinned", "default-added"]);
    expect(s.nodePools[0].instanceType).toBe("t3.xlarge");
    expect(s.nodePools[0].availabilityZones).toEqual(["us-east-1b", "us-east-1a"]);
    expect(s.nodePools[0].kubernetesVersion).toBeUndefined();
    expect(s.nodePools[1].kubernetesVersion).toBe("v1.33.4");
    expect(s.nodePools[2].kubernetesVersion).toBeUndefined();
    expect(s.nodePools[2]).toMatchObject({
      instanceType: "t3.xlarge",
      minSize: 1,
      maxSize: 3,
    });
    expect(s.region).toBe("us-east-1");
  });
  it("accepted: a cluster at the newest supported minor keeps its version", () => {
    const s = parse(changeSpec(SPEC.replace("kubernetesVersion: v1.34.2", "kubernetesVersion: v1.36.1"), "accepted"));
    expect(s.kubernetesVersion).toBe("v1.36.1");
    expect(s.nodePools[0].instanceType).toBe("t3.xlarge");
  });
  it("two-minor-jump: minor +2, pools keep theirs", () => {
    const s = parse(changeSpec(SPEC, "two-minor-jump"));
    expect(s.kubernetesVersion).toBe("v1.36.0");
    expect(s.nodePools.map((p: { kubernetesVersion: string }) => p.kubernetesVersion)).toEqual(["v1.34.2", "v1.33.4"]);
  });
  it("region: every zone moves with it, letters kept", () => {
    const s = parse(changeSpec(SPEC, "region"));
    expect(s.region).toBe("us-west-2");
    expect(s.availabilityZones).toEqual(["us-west-2a", "us-west-2b", "us-west-2c"]);
    expect(s.nodePools[0].availabilityZones).toEqual(["us-west-2a", "us-west-2b"]);
    expect(s.nodePools[1].availabilityZones).toEqual(["us-west-2c"]);
    expect(parse(changeSpec(SPEC.replace(/us-east-1/g, "eu-west-1"), "region")).region).toBe("us-east-1");
  });
  it("instance types grow within their family", () => {
    expect(otherInstanceType("t3.medium")).toBe("t3.large");
    expect(otherInstanceType("m6i.2xlarge")).toBe("m6i.4xlarge");
    expect(otherInstanceType("odd")).toBe("m5.large");
  });
});

describe("templateEditInPlace", () => {
  it("adds a JSON patch on the control plane's AWSMachineTemplate to the cluster's own patches", () => {
    const k = parse(templateEditInPlace("resources:\n  - generated\npatches: []\n", "demo"));
    expect(k.resources).toEqual(["generated"]);
    expect(k.patches).toHaveLength(1);
    expect(k.patches[0].target).toEqual({ kind: "AWSMachineTemplate", name: "demo-control-plane.*" });
    expect(JSON.parse(k.patches[0].patch)).toEqual([
      { op: "replace", path: "/spec/template/spec/rootVolume/size", value: 123 },
    ]);
  });
});

const MIN = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size";
const MAX = "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size";
/** The tool's admission verdict on an UPDATE of an object (the object's identity left empty). */
const updateVerdict = (allowed: boolean, messages: AdmissionResult["messages"]): AdmissionResult => ({
  apiVersion: "",
  kind: "",
  namespace: "",
  name: "",
  cluster: "",
  file: "",
  operation: "UPDATE",
  allowed,
  stage: "webhook",
  messages,
});
const obj = (kind: string, extra: Partial<K8sObject> = {}): K8sObject => ({
  apiVersion: "cluster.x-k8s.io/v1beta2",
  kind,
  metadata: { name: "x", namespace: "ns" },
  ...extra,
});

describe("steps", () => {
  it("pools without replicas expect the autoscaler's min size (else 1) as the server's default", () => {
    expect(
      expectedDefaults(
        obj("MachinePool", { metadata: { name: "p", annotations: { [MIN]: "2", [MAX]: "4" } }, spec: {} }),
      ),
    ).toEqual({ "spec.replicas": 2 });
    expect(expectedDefaults(obj("MachineDeployment", { spec: {} }))).toEqual({ "spec.replicas": 1 });
    expect(expectedDefaults(obj("MachineDeployment", { spec: { replicas: 3 } }))).toBeUndefined();
    expect(expectedDefaults(obj("Cluster", { spec: {} }))).toBeUndefined();
  });
  // CAPI v1.13 internal/webhooks/machinedeployment.go calculateMachineDeploymentReplicas (machinepool.go
  // calculateMachinePoolReplicas is the same): both annotations needed; on update the old replicas within [min, max]
  // are kept, else clamped; without both annotations 1, on update too.
  it.each<[string, string | undefined, string | undefined, number | undefined, number]>([
    ["create: the min size", "0", "2", undefined, 0],
    ["create: only the min annotation is not enough (1)", "2", undefined, undefined, 1],
    ["20.9 update: a zone's min size falls 1 → 0 (zones reordered): the server keeps 1", "0", "2", 1, 1],
    ["update: old replicas below the min size: the min", "3", "5", 1, 3],
    ["update: old replicas above the max size: the max", "0", "2", 4, 2],
    ["update: no annotations: 1, whatever the old replicas", undefined, undefined, 3, 1],
  ])("%s", (_, min, max, old, want) => {
    const annotations = { ...(min === undefined ? {} : { [MIN]: min }), ...(max === undefined ? {} : { [MAX]: max }) };
    for (const kind of ["MachineDeployment", "MachinePool"]) {
      const o = obj(kind, { metadata: { name: "p", namespace: "ns", annotations }, spec: {} });
      const stored = old === undefined ? undefined : obj(kind, { spec: { replicas: old } });
      expect(expectedDefaults(o, stored)).toEqual({ "spec.replicas": want });
      expect(asStored(o, stored).spec?.replicas).toBe(want);
    }
  });
  it("20.9: an update step expects the default from the stored object, not the create default", () => {
    const md = obj("MachineDeployment", {
      metadata: { name: "fd-default-a", namespace: "fd", annotations: { [MIN]: "0", [MAX]: "2" } },
      spec: {},
    });
    const allowed = updateVerdict(true, []);
    const was = asStored(
      obj("MachineDeployment", {
        metadata: { name: "fd-default-a", namespace: "fd", annotations: { [MIN]: "1", [MAX]: "2" } },
        spec: {},
      }),
    );
    expect(updateStep("u", "fd", [md], [], [allowed], undefined, [was]).objects[0]!.defaults).toEqual({
      "spec.replicas": 1,
    });
  });
  it("names the cluster's own patches that touched an object, not generated/ or shared ones", () => {
    const s = createStep(
      "c",
      "demo",
      [obj("Cluster"), obj("AWSCluster")],
      [],
      [
        [
          "clusters/demo/kustomization.yaml",
          "clusters/demo/generated/kustomization.yaml",
          "overlays/x/kustomization.yaml",
        ],
        ["clusters/demo/generated/kustomization.yaml"],
      ],
    );
    expect(s.objects.map((o) => o.patchedBy)).toEqual([["clusters/demo/kustomization.yaml"], undefined]);
  });
  it("creates expect allow; updates follow the tool's admission verdict, a denial with its message detail", () => {
    const objs = [obj("Cluster"), obj("AWSCluster")];
    expect(createStep("c", "demo", objs, ["a.yaml"]).objects.map((o) => [o.expect, o.file])).toEqual([
      ["allow", "a.yaml"],
      ["allow", undefined],
    ]);
    const v = (allowed: boolean, message = "") =>
      updateVerdict(allowed, message ? [{ field: "spec.region", message }] : []);
    const s = updateStep("u", "demo", objs, [], [v(true), v(false, 'Invalid value: "us-west-2": field is immutable')]);
    expect(s.objects[0]).toMatchObject({ expect: "allow" });
    expect(s.objects[1]).toMatchObject({ expect: "deny", because: "field is immutable" });
    expect(() => updateStep("u", "demo", objs, [], [v(true)])).toThrow(/1 verdicts for 2 objects/);
  });
});

describe("featureGates", () => {
  it("merges the operator providers' gates (management/providers), sorted; other kinds are ignored", () => {
    const p = (
      kind: string,
      gates: Record<string, boolean>,
      apiVersion = "operator.cluster.x-k8s.io/v1alpha2",
    ): K8sObject => ({ apiVersion, kind, metadata: { name: kind }, spec: { manager: { featureGates: gates } } });
    expect(
      featureGates([
        p("InfrastructureProvider", { MachinePoolMachines: true, MachinePool: true }),
        p("CoreProvider", { MachinePool: true }),
        p("Other", { X: true }, "v1"),
      ]),
    ).toBe("MachinePool=true,MachinePoolMachines=true");
    expect(featureGates([])).toBe("");
  });
});

describe("denialText", () => {
  const r = (message: string) => updateVerdict(false, [{ field: "f", message }]);
  it.each([
    ['Invalid value: "us-west-2": field is immutable', "field is immutable"],
    [
      'Invalid value: {"kind":"AWSMachineTemplate","metadata":{"uid":"x"},"spec":{}}: ' +
        "AWSMachineTemplate.Spec is immutable",
      "AWSMachineTemplate.Spec is immutable",
    ],
    ["Forbidden: cannot be an even number when etcd is stacked", "cannot be an even number when etcd is stacked"],
    [
      "cannot update Kubernetes version from v1.34.0 to v1.36.0",
      "cannot update Kubernetes version from v1.34.0 to v1.36.0",
    ],
  ])("%s → %s", (m, want) => expect(denialText(r(m))).toBe(want));
});

describe("replaceEdits (control-plane build)", () => {
  it("drops local replaces; placeholder v0.0.0 requirements get the published staging version", () => {
    const mod = {
      Require: [
        { Path: "k8s.io/api", Version: "v0.0.0" },
        { Path: "go.etcd.io/etcd/api/v3", Version: "v3.6.16" },
      ],
      Replace: [
        { Old: { Path: "k8s.io/api" }, New: { Path: "./staging/src/k8s.io/api" } },
        { Old: { Path: "go.etcd.io/etcd/api/v3" }, New: { Path: "../api" } },
        { Old: { Path: "k8s.io/unused" }, New: { Path: "./staging/src/k8s.io/unused" } },
        { Old: { Path: "example.com/fork" }, New: { Path: "example.com/other", Version: "v1.0.0" } },
      ],
    };
    expect(replaceEdits(mod, "v1.35.4", { placeholder: (v) => v.replace(/^v1\./, "v0.") })).toEqual([
      "-dropreplace=k8s.io/api",
      "-require=k8s.io/api@v0.35.4",
      "-dropreplace=go.etcd.io/etcd/api/v3",
      "-dropreplace=k8s.io/unused",
    ]);
  });
  it("kustomize-controller: its ./api replace becomes the api module its go.mod requires; module replaces stay", () => {
    const mod = {
      Require: [{ Path: "github.com/fluxcd/kustomize-controller/api", Version: "v1.9.6" }],
      Replace: [
        { Old: { Path: "github.com/fluxcd/kustomize-controller/api" }, New: { Path: "./api" } },
        {
          Old: { Path: "github.com/opencontainers/go-digest" },
          New: { Path: "github.com/opencontainers/go-digest", Version: "v1.0.1-0.20220411205349-bde1400a84be" },
        },
      ],
    };
    expect(replaceEdits(mod, "v1.9.6", {})).toEqual(["-dropreplace=github.com/fluxcd/kustomize-controller/api"]);
  });
  it("builds the kustomize-controller of the pinned Flux CRDs, after the control plane", () => {
    const pins = e2ePins();
    expect(pins["kustomize-controller"]).toEqual({
      module: versions().crds["flux-kustomize-controller"]?.module,
      version: versions().crds["flux-kustomize-controller"]?.version,
    });
    expect(E2E_BINARIES).toEqual(["etcd", "kube-apiserver", "kustomize-controller"]);
  });
});

const ev = (Action: GoTestEvent["Action"], Test?: string, Output?: string): GoTestEvent => ({ Action, Test, Output });

describe("summarize (go test -json)", () => {
  it("counts leaf tests and the teardown check; a failed leaf keeps its message", () => {
    const events = [
      ev("output", undefined, "e2e: up\n"),
      ev("run", "TestApply"),
      ev("run", "TestApply/step"),
      ev("run", "TestApply/step/Cluster_ns/a"),
      ev("pass", "TestApply/step/Cluster_ns/a"),
      ev("run", "TestApply/step/AWSCluster_ns/a"),
      ev("output", "TestApply/step/AWSCluster_ns/a", "=== RUN   TestApply/step/AWSCluster_ns/a\n"),
      ev(
        "output",
        "TestApply/step/AWSCluster_ns/a",
        "    e2e_test.go:1: cluster demo: AWSCluster ns/a: the API server rejected it: denied\n",
      ),
      ev("fail", "TestApply/step/AWSCluster_ns/a"),
      ev("fail", "TestApply/step"),
      ev("fail", "TestApply"),
      ev("run", "TestLoopbackOnly"),
      ev("pass", "TestLoopbackOnly"),
      ev("output", undefined, `${TEARDOWN_OK}\n`),
      ev("fail"),
    ];
    const s = summarize(events);
    expect(s.passed).toBe(3);
    expect(s.failed).toBe(1);
    expect(s.failures[0]!.test).toBe("TestApply/step/AWSCluster_ns/a");
    expect(s.failures[0]!.output).toBe(
      "e2e_test.go:1: cluster demo: AWSCluster ns/a: the API server rejected it: denied",
    );
  });
  it("a parent test that fails by its own errors while its subtests pass is a failure (TestBox's health)", () => {
    const s = summarize([
      ev("run", "TestBox"),
      ev("run", "TestBox/e2e-dev"),
      ev("pass", "TestBox/e2e-dev"),
      ev(
        "output",
        "TestBox",
        "    box_health_test.go:9: box: health: cluster a/b, Cluster/b: Healthy while a failure is reported\n",
      ),
      ev("fail", "TestBox"),
      ev("output", undefined, `${TEARDOWN_OK}\n`),
      ev("fail"),
    ]);
    expect(s.failures.map((f) => f.test)).toEqual(["TestBox"]);
    expect(s.failures[0]?.output).toContain("box: health: cluster a/b");
  });
  it("a suite that did not report its teardown fails that check", () => {
    const s = summarize([
      ev("run", "TestLoopbackOnly"),
      ev("pass", "TestLoopbackOnly"),
      ev("output", undefined, "teardown: teardown left process 12 (etcd) running\n"),
      ev("fail"),
    ]);
    expect(s.passed).toBe(1);
    expect(s.failures).toEqual([{ test: "teardown", output: "teardown: teardown left process 12 (etcd) running" }]);
  });
});

describe("e2e/go.mod", () => {
  it(`pins CAPI and CAPA at versions.json's versions (as admission/go.mod) \
and takes the shared package from ../admission`, async () => {
    const { readFileSync } = await import("node:fs");
    const { ROOT } = await import("./helpers.js");
    const { versions } = await import("../src/pins/versions.js");
    const mod = readFileSync(`${ROOT}/e2e/go.mod`, "utf8");
    for (const pin of ["cluster-api", "cluster-api-provider-aws"]) {
      const { module, version } = versions().crds[pin]!;
      expect(mod).toMatch(
        new RegExp(`^\\s*${module.replace(/[./]/g, "\\$&")} ${version.replace(/\./g, "\\.")}( // indirect)?$`, "m"),
      );
    }
    expect(mod).toMatch(/^replace github\.com\/capi-gitops\/admission => \.\.\/admission$/m);
  });
});
