/**
 * Acceptance: manifests copied from CAPA's own templates (the pinned release, rendered with their variables the
 * way `clusterctl generate cluster` does) pass `validate` — kustomize, kubeconform, kubectl-validate (CEL) and our
 * rules — with no false errors. A negative control proves the same pipeline does reject a defect in them.
 *
 * Each template lands in a temporary repository as clusters/<name>/template.yaml. `validate` only looks at
 * directories with a cluster.yaml, so each one gets a minimal valid spec (same name, namespace and region as the
 * template's variables) and `generate` is run, which writes base/, overlays/, the spec schema and
 * clusters/<name>/generated/ exactly as the specs produce them (so there is no "generated-drift"). Then
 * clusters/<name>/kustomization.yaml — the user-owned layer that `generate` scaffolds once and never checks for
 * drift — is replaced by one that renders only template.yaml. The assertions therefore cover every finding,
 * with nothing filtered out.
 *
 * Templates left out (all in templates/ of the module):
 *  - cluster-template-eks*.yaml: EKS (AWSManagedControlPlane/AWSManagedCluster, NodeadmConfig), not a
 *    kubeadm control plane; this repository only produces KubeadmControlPlane clusters.
 *  - cluster-template-rosa*.yaml, rosa-network.yaml: OpenShift ROSA (ROSAControlPlane); rosa-network has no Cluster
 *    at all, and they use clusterctl's ${VAR:0:54} substring form.
 *  - cluster-template-*-clusterclass.yaml: a ClusterClass plus a topology-managed Cluster (no controlPlaneRef or
 *    infrastructureRef of its own; CAPI's topology controller creates those objects), which is not the
 *    explicit-objects model this repository renders and checks.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCommand } from "../src/commands/generate.js";
import { validateCommand } from "../src/commands/validate.js";
import type { ValidateResult } from "../src/validate/pipeline.js";
import { formatFinding, type Finding } from "../src/core/findings.js";
import { envsubst } from "../src/import/envsubst.js";
import { goModDownload } from "../src/tools/go.js";
import { versions } from "../src/pins/versions.js";
import { tempDir } from "./helpers.js";

/** clusters/<name> → the template of the pinned CAPA module it holds. */
const TEMPLATES: [name: string, file: string][] = [
  ["capa-default", "cluster-template.yaml"],
  ["capa-machinepool", "cluster-template-machinepool.yaml"],
  ["capa-ipv6", "cluster-template-ipv6.yaml"],
  ["capa-dualstack-v4", "cluster-template-dualstack-ipv4-primary.yaml"],
  ["capa-dualstack-v6", "cluster-template-dualstack-ipv6-primary.yaml"],
  ["capa-flatcar", "cluster-template-flatcar.yaml"],
  ["capa-flatcar-mp", "cluster-template-flatcar-machinepool.yaml"],
];

// Where CAPA publishes images for the version below (issue 19: elsewhere a machine on its public images gets none, an
// error).
const REGION = "us-east-2";

/**
 * What a user would export before `clusterctl generate cluster <name>`. KUBERNETES_AWS_CCM_VERSION is left unset on
 * purpose: its ${…:-default} applies.
 */
function variables(clusterName: string): Record<string, string> {
  return {
    CLUSTER_NAME: clusterName,
    AWS_REGION: REGION,
    AWS_AVAILABILITY_ZONE: `${REGION}a`,
    AWS_SSH_KEY_NAME: "platform-ops",
    AWS_CONTROL_PLANE_MACHINE_TYPE: "m6i.large",
    AWS_NODE_MACHINE_TYPE: "m6i.xlarge",
    CONTROL_PLANE_MACHINE_COUNT: "3",
    WORKER_MACHINE_COUNT: "3",
    KUBERNETES_VERSION: "v1.34.8",
    AWS_S3_BUCKET_NAME: `${clusterName}-ignition`,
  };
}

/** `${…}` left in rendered text, apart from those the template escaped as `$${…}` for a later stage. */
function leftovers(source: string, rendered: string): string[] {
  const escaped = [...source.matchAll(/\$\$(\{[^}]*\})/g)].map((m) => `$${m[1]}`);
  const left = [...rendered.matchAll(/\$\{[^}]*\}/g)].map((m) => m[0]);
  for (const e of escaped) left.splice(left.indexOf(e), 1);
  return left;
}

let capaDir: string;
const rendered = new Map<string, { source: string; text: string; unresolved: string[] }>();
const cleanups: (() => Promise<void>)[] = [];

async function readTemplate(file: string): Promise<string> {
  return readFile(path.join(capaDir, "templates", file), "utf8");
}

/** A repository holding the given rendered templates, one cluster directory each, generated and then re-pointed. */
async function repoWith(clusters: { name: string; manifest: string }[]): Promise<string> {
  const t = await tempDir("capi-gitops-capa-");
  cleanups.push(t.cleanup);
  for (const c of clusters) {
    await mkdir(t.guard(`clusters/${c.name}`), { recursive: true });
    await writeFile(
      t.guard(`clusters/${c.name}/cluster.yaml`),
      `apiVersion: capi-gitops.io/v1alpha1\nkind: ClusterSpec\nname: ${c.name}\nnamespace: ${c.name}\n` +
        `region: ${REGION}\n`,
    );
  }
  await generateCommand({ cwd: t.dir, log: () => {} });
  for (const c of clusters) {
    await writeFile(t.guard(`clusters/${c.name}/template.yaml`), c.manifest);
    await writeFile(
      t.guard(`clusters/${c.name}/kustomization.yaml`),
      `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: ${c.name}\nresources:\n` +
        `  - template.yaml\n`,
    );
  }
  return t.dir;
}

const show = (fs: readonly Finding[]) => (fs.length ? fs.map(formatFinding).join("\n") : "(none)");
/**
 * A true finding on CAPA's own templates: their ClusterResourceSet applies a CCM pinned in the template (v1.32.5, the
 * dual-stack ones v1.28.3) whatever KUBERNETES_VERSION they are rendered with, here v1.34.8 — outside the version skew
 * policy (a cloud-controller-manager at most one minor older than kube-apiserver). Asserted on its own below.
 */
const CCM_MINOR = "addons-ccm-minor";
/**
 * Also true, and by construction of this test: each cluster.yaml is only a carrier (validate needs one), and the
 * layer renders the template instead of what the spec describes, so the spec's own objects are missing
 * (`render-complete`, issue 20) and the template's own ClusterResourceSets and their ConfigMaps are not the add-ons
 * `generate` writes (`user-layer-addons`: a cluster layer may not bring its own). Not findings on CAPA's templates.
 */
const CARRIER = new Set(["render-complete", "user-layer-addons"]);
const errorsOf = (r: ValidateResult, cluster?: string) =>
  r.findings.filter(
    (f) =>
      f.severity === "error" &&
      f.rule !== CCM_MINOR &&
      !CARRIER.has(f.rule) &&
      (cluster === undefined || f.cluster === cluster),
  );

beforeAll(async () => {
  const capa = versions().crds["cluster-api-provider-aws"];
  if (!capa) throw new Error('versions.json pins no "cluster-api-provider-aws"');
  capaDir = await goModDownload(capa.module, capa.version);
  for (const [name, file] of TEMPLATES) {
    const source = await readTemplate(file);
    rendered.set(name, { source, ...envsubst(source, variables(name)) });
  }
});
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe(`CAPA templates (pinned ${versions().crds["cluster-api-provider-aws"]?.version})`, () => {
  let result: ValidateResult;
  beforeAll(async () => {
    const root = await repoWith(TEMPLATES.map(([name]) => ({ name, manifest: rendered.get(name)!.text })));
    result = await validateCommand({ cwd: root });
  });

  it.each(TEMPLATES)("clusters/%s (%s): every variable is substituted", (name) => {
    const r = rendered.get(name)!;
    expect(r.unresolved, `unset variables in ${name}`).toEqual([]);
    expect(leftovers(r.source, r.text), `\${…} left in ${name}`).toEqual([]);
  });

  /**
   * Flatcar boots from Ignition, which CAPI and CAPA admit only behind feature gates management/providers leaves off.
   */
  const IGNITION = new Set(["capa-flatcar", "capa-flatcar-mp"]);

  it("validate (kustomize, kubeconform, CEL, upstream admission, rules) reports no errors", () => {
    expect(result.summary.clusters).toBe(TEMPLATES.length);
    expect(
      errorsOf(result).filter((f) => !IGNITION.has(f.cluster ?? "")),
      show(result.findings),
    ).toEqual([]);
  });

  it("reports the CCM that CAPA's templates pin at another minor than the control plane (addons-ccm-minor)", () => {
    const ccm = result.findings.filter((f) => f.rule === CCM_MINOR);
    expect(ccm.length, show(result.findings)).toBeGreaterThan(0);
    for (const f of ccm)
      expect(f.message, show([f])).toMatch(
        /cloud-controller-manager:v1\.(32|28)\.\d+, but the control plane runs v1\.34\.8/,
      );
  });

  it.each([...IGNITION])(
    "clusters/%s: the upstream webhooks deny Ignition without the KubeadmBootstrapFormatIgnition / " +
      "BootstrapFormatIgnition gates, and nothing else is an error",
    (name) => {
      const errs = errorsOf(result, name);
      expect(errs.length, show(result.findings)).toBeGreaterThan(0);
      for (const f of errs) {
        expect(f.rule, show([f])).toBe("admission/webhook");
        expect(f.message, show([f])).toMatch(
          /can be set only if the (Kubeadm)?BootstrapFormatIgnition feature gate is enabled/,
        );
      }
      expect(errs.map((f) => f.path)).toEqual(
        expect.arrayContaining([
          `AWSCluster/${name}:spec.s3Bucket`,
          `KubeadmControlPlane/${name}-control-plane:spec.kubeadmConfigSpec.ignition`,
        ]),
      );
    },
  );

  it.each(TEMPLATES)("clusters/%s (%s): warns that CAPI v1beta1 is deprecated", (name) => {
    const deprecated = result.findings.filter((f) => f.cluster === name && f.rule === "deprecated-api");
    const paths = deprecated.map((f) => f.path ?? "");
    expect(
      deprecated.every((f) => f.severity === "warning"),
      show(deprecated),
    ).toBe(true);
    for (const kind of ["Cluster", "KubeadmControlPlane"])
      expect(paths, show(result.findings)).toContain(
        `${kind}/${kind === "Cluster" ? name : `${name}-control-plane`}:apiVersion`,
      );
    expect(
      paths.some((p) => p.startsWith("ClusterResourceSet/")),
      show(deprecated),
    ).toBe(true);
  });
});

describe("negative control: the same template with one defect each", () => {
  let result: ValidateResult;
  beforeAll(async () => {
    const source = await readTemplate("cluster-template.yaml");
    const evenCp = envsubst(source, { ...variables("capa-even-cp"), CONTROL_PLANE_MACHINE_COUNT: "2" }).text;
    const good = envsubst(source, variables("capa-old-infra")).text;
    const oldInfra = good.replace(
      /apiVersion: infrastructure\.cluster\.x-k8s\.io\/v1beta2\nkind: AWSCluster\n/,
      "apiVersion: infrastructure.cluster.x-k8s.io/v1beta1\nkind: AWSCluster\n",
    );
    expect(oldInfra).not.toBe(good);
    const workers = "      iamInstanceProfile: nodes.cluster-api-provider-aws.sigs.k8s.io\n";
    const spotReserved = envsubst(source, variables("capa-spot-reserved")).text.replace(
      workers,
      `${workers}      marketType: Spot\n      capacityReservationId: cr-0123456789abcdef0\n`,
    );
    expect(spotReserved).toContain("marketType: Spot");
    const root = await repoWith([
      { name: "capa-even-cp", manifest: evenCp },
      { name: "capa-old-infra", manifest: oldInfra },
      { name: "capa-spot-reserved", manifest: spotReserved },
    ]);
    result = await validateCommand({ cwd: root });
  });

  it("CONTROL_PLANE_MACHINE_COUNT=2 is rejected (the KCP webhook), and nothing else is", () => {
    const errs = errorsOf(result, "capa-even-cp");
    // The upstream KubeadmControlPlane webhook reports it (our rule was removed for it: validate/upstream-replaced.ts).
    expect(errs.map((f) => `${f.rule} ${f.path}`).sort(), show(result.findings)).toEqual([
      "admission/webhook KubeadmControlPlane/capa-even-cp-control-plane:spec.replicas",
    ]);
  });

  it("an AWSCluster at infrastructure.cluster.x-k8s.io/v1beta1 is rejected as not served, and nothing else is", () => {
    const errs = errorsOf(result, "capa-old-infra");
    expect(
      errs.map((f) => `${f.rule} ${f.path}`),
      show(result.findings),
    ).toEqual(["api-served AWSCluster/capa-old-infra:apiVersion"]);
    expect(errs[0]!.message).toMatch(/not served by the pinned CAPA .*use infrastructure\.cluster\.x-k8s\.io\/v1beta2/);
  });

  it(`a Spot worker template with a capacity reservation is rejected by the CRD's CEL rule, \
and nothing else is`, () => {
    const errs = errorsOf(result, "capa-spot-reserved");
    // The upstream admission evaluates the CRD's CEL rule (kubectl-validate checks only management/ now, issue 12).
    expect(errs.map((f) => `${f.rule} ${f.path}`).sort(), show(result.findings)).toEqual([
      "admission/cel AWSMachineTemplate/capa-spot-reserved-md-0:spec.template.spec",
    ]);
    for (const f of errs) expect(f.message).toMatch(/capacityReservationId may not be set when marketType is Spot/);
  });
});
