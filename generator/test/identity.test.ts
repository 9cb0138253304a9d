/**
 * Account identities and access (plan/identity.ts, plan/iam.ts, plan/sync.ts): one identity object per distinct role
 * or Secret in management/identities, allowed in exactly the namespaces of the clusters naming it; the sync engines
 * may apply exactly those kinds; the IAM bootstrap lets CAPA's controllers assume exactly the roles (checked on the
 * real clusterawsadm's CloudFormation template) and gives Session Manager's policy to the machines only with ssm.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseRepoConfig, type RepoConfig } from "../src/cluster-spec/config.js";
import { parseSpecObject } from "../src/cluster-spec/parse.js";
import { isK8sObject, type K8sObject } from "../src/k8s/object.js";
import { parseYamlStream, toYaml } from "../src/core/yaml.js";
import { iamConfiguration, SSM_POLICY_ARN } from "../src/plan/iam.js";
import { identityNamespaceLabel, identityObjects, identityRef } from "../src/plan/identity.js";
import { planCluster } from "../src/plan/cluster.js";
import { planRepo } from "../src/plan/repo.js";
import { argoManagementObjects, argoObjects, IDENTITIES_SERVICE_ACCOUNT, planSync } from "../src/plan/sync.js";
import { MANAGEMENT_APP_NAME } from "../src/plan/sync.js";
import { versions } from "../src/pins/versions.js";
import { printCloudFormationTemplate } from "../src/tools/clusterawsadm.js";
import { applicationFindings, declaredApplications } from "../src/validate/sync-check.js";
import { staticIdentitySecretRules } from "../src/validate/rules.js";
import { buildInventory, formatInventory } from "../src/fleet/inventory.js";
import { clusterSpec, tempDir } from "./helpers.js";

const ROLE_A = "arn:aws:iam::111122223333:role/capa-workload";
const ROLE_B = "arn:aws:iam::444455556666:role/Capa-Workload";
const specs = [
  clusterSpec({ name: "one", identity: { roleArn: ROLE_A }, access: "ssm" }),
  clusterSpec({ name: "two", namespace: "team-two", identity: { roleArn: ROLE_A } }),
  clusterSpec({ name: "three", identity: { roleArn: ROLE_B } }),
  clusterSpec({ name: "four", identity: { secretRef: "capa-creds", account: "777788889999" } }),
  clusterSpec({ name: "five" }),
];
const config = (gitops: "argocd" | "flux"): RepoConfig => {
  const r = parseRepoConfig(
    `apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\ngitops: ${gitops}\n` +
      "repoURL: https://git.example.com/platform/capi.git\n",
  );
  if (!r.config) throw new Error(JSON.stringify(r.findings));
  return r.config;
};

describe("identity objects (CAPA AWSClusterRoleIdentity / AWSClusterStaticIdentity)", () => {
  const objects = identityObjects(specs);
  // The namespaces an identity allows: those whose Namespace object (in the cluster's render) carries its label.
  const allowed = (o: (typeof objects)[number]) =>
    specs
      .filter((s) => {
        const file = planCluster(s, versions().addons).find((f) => f.path.endsWith("/namespace.yaml"));
        const labels = parseYamlStream(file?.content ?? "").filter(isK8sObject)[0]?.metadata.labels ?? {};
        const selector = o.spec?.allowedNamespaces?.selector?.matchLabels ?? {};
        return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
      })
      .map((s) => s.namespace);
  it("one per distinct role or Secret, allowed in exactly the namespaces of the clusters naming it", () => {
    expect(objects.map((o) => [o.kind, allowed(o)])).toEqual(
      expect.arrayContaining([
        ["AWSClusterRoleIdentity", ["one", "team-two"]],
        ["AWSClusterRoleIdentity", ["three"]],
        ["AWSClusterStaticIdentity", ["four"]],
      ]),
    );
    expect(objects).toHaveLength(3);
    // By label, not by a list of names: a cluster removed from Git keeps its namespace (never pruned, deleted by hand
    // after the Cluster) and so the right to its account while CAPA tears it down.
    for (const o of objects) expect(o.spec?.allowedNamespaces?.list).toBeUndefined();
  });
  it("labels a long static identity's namespace with a valid label name", () => {
    const key = identityNamespaceLabel(`static-${"s".repeat(63)}`);
    expect(key.split("/")[1]?.length).toBeLessThanOrEqual(63);
    expect(key).toMatch(/^identity\.capi-gitops\.io\/[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });
  it("a role chains to the controller identity; a static identity holds only the Secret's name", () => {
    const role = objects.find((o) => o.kind === "AWSClusterRoleIdentity" && allowed(o)[0] === "one");
    expect(role?.spec).toMatchObject({
      roleARN: ROLE_A,
      sourceIdentityRef: { kind: "AWSClusterControllerIdentity", name: "default" },
    });
    const stat = objects.find((o) => o.kind === "AWSClusterStaticIdentity");
    expect(stat?.spec).toEqual({
      allowedNamespaces: { selector: { matchLabels: { "identity.capi-gitops.io/static-capa-creds": "allowed" } } },
      secretRef: "capa-creds",
    });
  });
  it("names differ for roles differing only in case (role names are case-sensitive) and are valid names", () => {
    const a = identityRef({ roleArn: "arn:aws:iam::111122223333:role/Ops" }).name;
    const b = identityRef({ roleArn: "arn:aws:iam::111122223333:role/ops" }).name;
    expect(a).not.toBe(b);
    for (const o of objects) expect(o.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });
  it("management/identities exists only while a cluster names an identity, and management/ lists it then", () => {
    const paths = (s: typeof specs) => planRepo({ specs: s }, versions()).files.map((f) => f.path);
    expect(paths(specs)).toContain("management/identities/identities.yaml");
    const without = paths([specs[4]!]);
    expect(without.filter((p) => p.startsWith("management/identities"))).toEqual([]);
    const kust = (s: typeof specs) =>
      planRepo({ specs: s }, versions()).files.find((f) => f.path === "management/kustomization.yaml")?.content;
    expect(kust(specs)).toMatch(/- identities/);
    expect(kust([specs[4]!])).not.toMatch(/- identities/);
  });
});

describe("the sync engines may apply exactly the identity kinds", () => {
  const objects = identityObjects(specs) as K8sObject[];
  it("Argo CD: the management project permits them; the clusters' project does not", () => {
    const c = config("argocd");
    const sync = planSync(c, specs)
      .flatMap((f) => parseYamlStream(f.content) as K8sObject[])
      .filter((o) => o && o.kind !== "Kustomization");
    const app = declaredApplications(sync).find((a) => a.name === MANAGEMENT_APP_NAME)!;
    expect(applicationFindings(app, sync, objects, { file: "management/kustomization.yaml" })).toEqual([]);
    const asClusters = { ...app, project: argoObjects(c, specs).project.metadata.name };
    expect(applicationFindings(asClusters, sync, objects, { file: "x" })).toHaveLength(objects.length);
    // Least privilege: the controller identity (CAPA makes it itself) is not among them.
    const kinds = argoManagementObjects(c).project.spec.clusterResourceWhitelist.map((k) => k.kind);
    expect(kinds).toEqual(expect.arrayContaining(["AWSClusterRoleIdentity", "AWSClusterStaticIdentity"]));
    expect(kinds).not.toContain("AWSClusterControllerIdentity");
  });
  it("Flux: their Kustomization applies as a ServiceAccount allowed only those two kinds, after the providers", () => {
    const files = planSync(config("flux"), specs);
    const objs = files.flatMap((f) => parseYamlStream(f.content) as (K8sObject & Record<string, any>)[]);
    const role = objs.find((o) => o.kind === "ClusterRole" && o.metadata.name === IDENTITIES_SERVICE_ACCOUNT);
    expect(role?.rules).toEqual([
      {
        apiGroups: ["infrastructure.cluster.x-k8s.io"],
        resources: ["awsclusterroleidentities", "awsclusterstaticidentities"],
        verbs: ["get", "list", "watch", "create", "update", "patch", "delete"],
      },
    ]);
    const k = objs.find((o) => o.kind === "Kustomization" && o.spec?.path === "./management/identities");
    expect(k?.spec?.serviceAccountName).toBe(IDENTITIES_SERVICE_ACCOUNT);
    expect(k?.spec?.dependsOn).toEqual([{ name: "capi-gitops-management-providers" }]);
    // Without identities: no such ServiceAccount, role or Kustomization.
    const none = planSync(config("flux"), [specs[4]!])
      .map((f) => f.content)
      .join("\n");
    expect(none).not.toContain(IDENTITIES_SERVICE_ACCOUNT);
  });
});

describe("the IAM bootstrap (clusterawsadm AWSIAMConfiguration), on the real clusterawsadm's template", () => {
  type Cfn = { Resources: Record<string, { Type: string; Properties: any }> };
  const print = async (config: object): Promise<Cfn> => {
    const t = await tempDir();
    try {
      writeFileSync(path.join(t.dir, "iam.yaml"), toYaml(config));
      return parseYamlStream(await printCloudFormationTemplate(t.dir, "iam.yaml"))[0] as Cfn;
    } finally {
      await t.cleanup();
    }
  };
  const statements = (cfn: Cfn, resource: string) =>
    [
      cfn.Resources[resource]?.Properties.PolicyDocument,
      ...(cfn.Resources[resource]?.Properties.Policies ?? []).map((p: any) => p.PolicyDocument),
    ]
      .filter(Boolean)
      .flatMap((d: any) => d.Statement);
  it("the controllers may assume exactly the clusters' roles; the machines get Session Manager with ssm", async () => {
    const cfn = await print(iamConfiguration(specs));
    const assume = Object.keys(cfn.Resources)
      .flatMap((r) => statements(cfn, r))
      .filter((s: any) => [s.Action].flat().includes("sts:AssumeRole") && s.Resource);
    expect(assume.flatMap((s: any) => [s.Resource].flat()).filter((r: string) => r.includes(":role/"))).toEqual([
      ROLE_A,
      ROLE_B,
    ]);
    for (const role of ["AWSIAMRoleNodes", "AWSIAMRoleControlPlane"])
      expect(cfn.Resources[role]?.Properties.ManagedPolicyArns).toContain(SSM_POLICY_ARN);
  });
  it("without identities nor ssm: no role to assume, no Session Manager", async () => {
    const cfn = await print(iamConfiguration([specs[4]!]));
    expect(JSON.stringify(cfn)).not.toContain(":role/capa");
    expect(JSON.stringify(cfn)).not.toContain(SSM_POLICY_ARN);
  });
});

describe("spec rules: identity, access, bastion, internal API", () => {
  const findings = (fields: Record<string, unknown>) =>
    parseSpecObject({
      apiVersion: "capi-gitops.io/v1alpha1",
      kind: "ClusterSpec",
      name: "x",
      region: "us-east-2",
      ...fields,
    }).findings.map((f) => `${f.rule} ${f.severity} ${f.path}`);
  it.each([
    ["a role", { identity: { roleArn: ROLE_A } }, []],
    ["neither role nor Secret", { identity: {} }, ["identity-kind error identity"]],
    [
      "a role with an account",
      { identity: { roleArn: ROLE_A, account: "111122223333" } },
      ["identity-kind error identity.account"],
    ],
    ["ssm without a key", { access: "ssm" }, []],
    ["ssm with a key", { access: "ssm", sshKeyName: "ops" }, ["access-ssh-key error sshKeyName"]],
    [
      "bastion without a key",
      { access: "bastion", bastion: { allowedCidrs: ["203.0.113.0/24"] } },
      ["access-ssh-key error sshKeyName"],
    ],
    [
      "a dev bastion open to all",
      { access: "bastion", sshKeyName: "k", bastion: { allowedCidrs: ["0.0.0.0/0"] } },
      ["bastion-cidrs warning bastion.allowedCidrs.0"],
    ],
    [
      "a prod bastion open to all",
      { profile: "prod", access: "bastion", sshKeyName: "k", bastion: { allowedCidrs: ["0.0.0.0/0"] } },
      ["bastion-cidrs error bastion.allowedCidrs.0"],
    ],
    [
      "a bad bastion CIDR",
      { access: "bastion", sshKeyName: "k", bastion: { allowedCidrs: ["10.0.0.1/8"] } },
      ["bastion-cidrs error bastion.allowedCidrs.0"],
    ],
    ["internal, acknowledged", { apiServer: { scheme: "internal", managementReachAcknowledged: true } }, []],
    [
      "internal via a peering",
      { apiServer: { scheme: "internal", managementConnection: "pcx-0123456789abcdef0" } },
      [],
    ],
    [
      "internal, unstated",
      { apiServer: { scheme: "internal" } },
      ["internal-api-reach error apiServer.managementConnection"],
    ],
    [
      "internal, acknowledged false",
      { apiServer: { scheme: "internal", managementReachAcknowledged: false } },
      ["internal-api-reach error apiServer.managementConnection"],
    ],
    [
      "a connection on an internet-facing API",
      { apiServer: { managementConnection: "tgw-attach-0123456789abcdef0" } },
      ["internal-api-reach error apiServer.managementConnection"],
    ],
  ])("%s", (_, fields, expected) => {
    expect(findings(fields)).toEqual(expected);
  });
});

describe("validate refuses a static identity's Secret in Git", () => {
  const secret = (name: string): K8sObject => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: "capa-system" },
  });
  it("named like a secretRef: refused (even without data); another Secret or no static identity: not this rule", () => {
    const r = (s: typeof specs, o: K8sObject) =>
      staticIdentitySecretRules(s, [{ objects: [o], file: "f" }]).map((f) => f.rule);
    expect(r(specs, secret("capa-creds"))).toEqual(["static-identity-secret"]);
    expect(r(specs, secret("other"))).toEqual([]);
    expect(r([specs[0]!], secret("capa-creds"))).toEqual([]);
  });
});

describe("inventory: each cluster's identity and access", () => {
  it("names the account and how operators and the management cluster reach the cluster", () => {
    const s = [
      ...specs,
      clusterSpec({
        name: "six",
        access: "bastion",
        sshKeyName: "ops",
        bastion: { allowedCidrs: ["203.0.113.0/24"] },
        apiServer: { scheme: "internal", managementConnection: "pcx-0123456789abcdef0" },
      }),
    ];
    const inv = buildInventory(s, versions(), undefined);
    const of = (n: string) => inv.clusters.find((c) => c.name === n)!;
    expect(of("one").identity).toEqual({ kind: "role", account: "111122223333", ref: ROLE_A });
    expect(of("one").access).toEqual({ mode: "ssm", apiScheme: "internet-facing", managementConnection: null });
    expect(of("four").identity).toEqual({ kind: "static", account: "777788889999", ref: "capa-creds" });
    expect(of("five").identity).toEqual({ kind: "controller", account: null, ref: null });
    expect(of("six").access).toEqual({
      mode: "bastion",
      apiScheme: "internal",
      managementConnection: "pcx-0123456789abcdef0",
    });
    const text = formatInventory(inv, "text");
    expect(text).toMatch(/identity +role arn:aws:iam::111122223333:role\/capa-workload \(account 111122223333\)/);
    expect(text).toMatch(/access +bastion, API internal \(management via pcx-0123456789abcdef0\)/);
    expect(formatInventory(inv, "markdown")).toMatch(/\| identity \| access \|/);
  });
});
