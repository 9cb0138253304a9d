/**
 * Runs the real kubeconform (the pinned binary in .tools/bin) over the committed schemas/kubeconform/:
 * every schema compiles under kubeconform's draft-4 compiler, the formats the CRDs use are accepted, good
 * documents pass, and typos, wrong types and unserved versions are caught. `-strict` on, no
 * `-ignore-missing-schemas`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KUBECONFORM_DIR, schemaLocation, UNSERVED_FILE } from "../src/schemas/layout.js";
import { readUnserved, unservedMessage } from "../src/schemas/unserved.js";
import { resolveTool } from "../src/tools/resolve.js";
import { run } from "../src/tools/run.js";
import { TOOL_ROOT } from "../src/pins/versions.js";
import type { KubeconformResource } from "../src/tools/kubeconform.js";

type Resource = KubeconformResource;

const tmp = mkdtempSync(path.join(os.tmpdir(), "schemas-kubeconform-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Validates each named document (one file each); returns the results by name. */
async function kubeconform(docs: Record<string, string>): Promise<Record<string, Resource[]>> {
  const dir = mkdtempSync(path.join(tmp, "run-"));
  const files = Object.entries(docs).map(([name, text]) => {
    const file = path.join(dir, `${name}.yaml`);
    writeFileSync(file, text);
    return file;
  });
  const { stdout } = await run(
    resolveTool("kubeconform"),
    [
      "-strict",
      "-output",
      "json",
      "-summary",
      "-verbose",
      "-n",
      "4",
      "-schema-location",
      schemaLocation(TOOL_ROOT),
      ...files,
    ],
    { cwd: TOOL_ROOT, okExitCodes: [1], installHint: "npm run setup" },
  );
  const out = JSON.parse(stdout) as { resources: Resource[] };
  const byName: Record<string, Resource[]> = {};
  for (const r of out.resources) (byName[path.basename(r.filename, ".yaml")] ??= []).push(r);
  return byName;
}

const KCP = `apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: KubeadmControlPlane
metadata:
  name: prod-cp
  namespace: prod
  creationTimestamp: "2024-05-01T10:00:00Z"
  generation: 1
spec:
  replicas: 3
  version: v1.33.4
  machineTemplate:
    spec:
      infrastructureRef:
        apiGroup: infrastructure.cluster.x-k8s.io
        kind: AWSMachineTemplate
        name: prod-cp-1
  kubeadmConfigSpec:
    clusterConfiguration:
      apiServer:
        extraArgs:
          - name: cloud-provider
            value: external
    initConfiguration:
      nodeRegistration:
        name: "{{ ds.meta_data.local_hostname }}"
        kubeletExtraArgs:
          - name: cloud-provider
            value: external
    joinConfiguration:
      discovery:
        file:
          kubeConfigPath: /etc/kubernetes/discovery.conf
          kubeConfig:
            cluster:
              certificateAuthorityData: aGVsbG8=
              server: https://example.com:6443
            user:
              authProvider:
                name: oidc
      nodeRegistration:
        name: "{{ ds.meta_data.local_hostname }}"
`;

const AWS_CLUSTER = `apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSCluster
metadata:
  name: prod
  namespace: prod
spec:
  region: eu-west-1
  controlPlaneLoadBalancer:
    loadBalancerType: nlb
    scheme: internet-facing
  network:
    vpc:
      cidrBlock: 10.0.0.0/16
`;

const MACHINE_POOL = `apiVersion: cluster.x-k8s.io/v1beta2
kind: MachinePool
metadata:
  name: prod-pool-a
  namespace: prod
  annotations:
    cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size: "1"
spec:
  clusterName: prod
  replicas: 2
  template:
    spec:
      clusterName: prod
      version: v1.33.4
      bootstrap:
        configRef:
          apiGroup: bootstrap.cluster.x-k8s.io
          kind: KubeadmConfig
          name: prod-pool-a
      infrastructureRef:
        apiGroup: infrastructure.cluster.x-k8s.io
        kind: AWSMachinePool
        name: prod-pool-a
`;

const AWS_MACHINE_POOL = `apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSMachinePool
metadata:
  name: prod-pool-a
  namespace: prod
spec:
  minSize: 1
  maxSize: 5
  awsLaunchTemplate:
    instanceType: m6i.large
    iamInstanceProfile: nodes.cluster-api-provider-aws.sigs.k8s.io
  lifecycleHooks:
    - name: drain
      lifecycleTransition: autoscaling:EC2_INSTANCE_TERMINATING
      heartbeatTimeout: 5m
      defaultResult: CONTINUE
`;

const NAMESPACE = `apiVersion: v1
kind: Namespace
metadata:
  name: prod
  labels:
    app.kubernetes.io/managed-by: capi-gitops
`;

const good: Record<string, string> = {
  kubeadmcontrolplane: KCP,
  awscluster: AWS_CLUSTER,
  machinepool: MACHINE_POOL,
  awsmachinepool: AWS_MACHINE_POOL,
  namespace: NAMESPACE,
  configmap:
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: prod\n  creationTimestamp: null\n` +
    `data:\n  a: "1"\n`,
  secret:
    `apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: prod\ntype: Opaque\nstringData:\n` +
    `  a: b\ndata:\n  c: aGVsbG8=\n`,
  "rosanetwork-cidr":
    `apiVersion: infrastructure.cluster.x-k8s.io/v1beta2\nkind: ROSANetwork\nmetadata:\n  name: net\nspec:\n` +
    `  region: eu-west-1\n  stackName: s\n  availabilityZoneCount: 1\n  cidrBlock: 10.0.0.0/16\n`,
  kustomization:
    `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: k\n` +
    `  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./clusters/prod\n  prune: false\n` +
    `  sourceRef:\n    kind: GitRepository\n    name: repo\n`,
  gitrepository:
    `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: repo\n` +
    `  namespace: flux-system\nspec:\n  interval: 1m\n  url: https://example.com/repo.git\n  ref:\n` +
    `    branch: main\n`,
  application:
    `apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\n  namespace: argocd\nspec:\n` +
    `  project: default\n  destination:\n    server: https://kubernetes.default.svc\n  source:\n` +
    `    repoURL: https://example.com/repo.git\n    path: clusters/prod\n  syncPolicy:\n` +
    `    syncOptions: [ServerSideApply=true]\n`,
};

const bad: Record<string, { doc: string; path: string; msg: RegExp }> = {
  "kcp-typo": {
    doc: KCP.replace("  replicas: 3", "  replica: 3"),
    path: "/spec",
    msg: /additional properties 'replica' not allowed/,
  },
  "kcp-nested-typo": {
    doc: KCP.replace("kubeletExtraArgs:", "kubeletExtraArg:"),
    path: "/spec/kubeadmConfigSpec/initConfiguration/nodeRegistration",
    msg: /additional properties 'kubeletExtraArg'/,
  },
  "kcp-v1beta1-shape": {
    doc: KCP.replace(
      "          - name: cloud-provider\n            value: external\n    initConfiguration",
      "          cloud-provider: external\n    initConfiguration",
    ),
    path: "/spec/kubeadmConfigSpec/clusterConfiguration/apiServer/extraArgs",
    msg: /got object, want array/,
  },
  "kcp-bad-date-time": {
    doc: KCP.replace('"2024-05-01T10:00:00Z"', "yesterday"),
    path: "/metadata/creationTimestamp",
    msg: /date-time/,
  },
  "machinepool-wrong-type": {
    doc: MACHINE_POOL.replace("replicas: 2", 'replicas: "2"'),
    path: "/spec/replicas",
    msg: /got string, want integer/,
  },
  "machinepool-metadata-typo": {
    doc: MACHINE_POOL.replace("  annotations:", "  anotations:"),
    path: "/metadata",
    msg: /additional properties 'anotations'/,
  },
  "awsmachinepool-typo": {
    doc: AWS_MACHINE_POOL.replace("instanceType:", "instanceTyp:"),
    path: "/spec/awsLaunchTemplate",
    msg: /instanceTyp/,
  },
  "awsmachinepool-bad-duration": {
    doc: AWS_MACHINE_POOL.replace("heartbeatTimeout: 5m", "heartbeatTimeout: five minutes"),
    path: "/spec/lifecycleHooks/0/heartbeatTimeout",
    msg: /duration/,
  },
  "awscluster-wrong-type": {
    doc: AWS_CLUSTER.replace("region: eu-west-1", "region: 42"),
    path: "/spec/region",
    msg: /got number, want string/,
  },
  "awscluster-bad-enum": {
    doc: AWS_CLUSTER.replace("loadBalancerType: nlb", "loadBalancerType: alb2"),
    path: "/spec/controlPlaneLoadBalancer/loadBalancerType",
    msg: /must be one of/,
  },
  "namespace-typo": {
    doc: NAMESPACE.replace("  labels:", "  label:"),
    path: "/metadata",
    msg: /additional properties 'label'/,
  },
  "namespace-wrong-label-type": {
    doc: NAMESPACE.replace("capi-gitops", "42"),
    path: "/metadata/labels/app.kubernetes.io/managed-by",
    msg: /got number, want string/,
  },
};

describe("kubeconform over schemas/kubeconform", () => {
  it("accepts valid CAPI v1beta2, CAPA v1beta2, core, Argo CD and Flux documents (formats included)", async () => {
    const results = await kubeconform(good);
    for (const name of Object.keys(good)) {
      const r = results[name];
      expect(r, name).toHaveLength(1);
      expect({ name, status: r![0]!.status, msg: r![0]!.msg }).toEqual({ name, status: "statusValid", msg: "" });
    }
  });

  it("rejects typos, wrong types, bad formats and enum values, at the right path", async () => {
    const results = await kubeconform(Object.fromEntries(Object.entries(bad).map(([k, v]) => [k, v.doc])));
    for (const [name, want] of Object.entries(bad)) {
      const r = results[name]?.[0];
      expect(r?.status, `${name}: ${r?.msg}`).toBe("statusInvalid");
      const errors = r?.validationErrors ?? [];
      expect(
        errors.some((e) => e.path === want.path && want.msg.test(e.msg)),
        `${name}: ${JSON.stringify(errors)}`,
      ).toBe(true);
    }
  });

  it("finds no schema for an unserved version, and unserved.json explains it", async () => {
    const v1beta1 = AWS_CLUSTER.replace(
      "infrastructure.cluster.x-k8s.io/v1beta2",
      "infrastructure.cluster.x-k8s.io/v1beta1",
    );
    const results = await kubeconform({ unserved: v1beta1, "duplicate-key": NAMESPACE + "metadata:\n  name: again\n" });
    expect(results.unserved?.[0]?.status).toBe("statusError");
    expect(results.unserved?.[0]?.msg).toMatch(/could not find schema/);
    expect(results["duplicate-key"]?.[0]?.status).not.toBe("statusValid");
    expect(unservedMessage(readUnserved(TOOL_ROOT), "infrastructure.cluster.x-k8s.io/v1beta1", "AWSCluster")).toMatch(
      new RegExp(
        String.raw`^AWSCluster infrastructure.cluster.x-k8s.io/v1beta1 is not served by the pinned CAPA ` +
          String.raw`\(sigs.k8s.io/cluster-api-provider-aws/v2@v\d+\.\d+\.\d+\); ` +
          String.raw`use infrastructure.cluster.x-k8s.io/v1beta2$`,
      ),
    );
  });

  it("compiles every schema file (a schema kubeconform cannot compile would show as missing)", async () => {
    const root = path.join(TOOL_ROOT, KUBECONFORM_DIR);
    const schemaFiles: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir).sort()) {
        const p = path.join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (p !== path.join(TOOL_ROOT, UNSERVED_FILE)) schemaFiles.push(p);
      }
    };
    walk(root);
    expect(schemaFiles.length).toBeGreaterThan(50);
    const docs: Record<string, string> = {};
    for (const file of schemaFiles) {
      const schema = JSON.parse(readFileSync(file, "utf8")) as {
        properties: { apiVersion: { enum: string[] }; kind: { enum: string[] } };
      };
      const apiVersion = schema.properties.apiVersion.enum[0]!;
      const kind = schema.properties.kind.enum[0]!;
      docs[path.relative(root, file).replace(/[/.]/g, "_")] =
        `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: x\n`;
    }
    const results = await kubeconform(docs);
    const errors = Object.entries(results).filter(
      ([, r]) => r[0]?.status === "statusError" || r[0]?.status === "statusSkipped",
    );
    expect(errors.map(([n, r]) => `${n}: ${r[0]?.msg}`)).toEqual([]);
    expect(Object.keys(results)).toHaveLength(schemaFiles.length);
  });
});
