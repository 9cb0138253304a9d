/**
 * Issue 19 item 9: the management cluster comes from Git — cert-manager, the cluster-api-operator (charts from pinned
 * Go modules, hydrated offline with the pinned helm), the providers, then the clusters, in that order under Argo CD
 * (sync waves) and Flux (dependsOn + wait). Real helm, kustomize and Go module downloads where they matter.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseRepoConfig, type RepoConfig } from "../src/cluster-spec/config.js";
import { hydrateManagementCharts } from "../src/commands/management-charts.js";
import { groupOf, type K8sObject } from "../src/k8s/object.js";
import { SYNC_SAFE } from "../src/core/vocabulary.js";
import { SYNC_WAVE } from "../src/core/vocabulary.js";
import { chartObjects, hydrateChart, MANAGEMENT_LAYERS } from "../src/plan/management.js";
import { providerObjects } from "../src/plan/providers.js";
import {
  argoManagementObjects,
  argoObjects,
  fluxLayerName,
  fluxManagementObjects,
  fluxObjects,
  MANAGEMENT_APP_NAME,
  planSync,
} from "../src/plan/sync.js";
import { MANAGEMENT_CHART_DIRS } from "../src/core/layout.js";
import { MANAGEMENT_LAYER_DIRS, managementLayerSteps } from "../src/e2e/management.js";
import { kustomizeBuild } from "../src/tools/kustomize.js";
import { applicationFindings, declaredApplications } from "../src/validate/sync-check.js";
import { versions } from "../src/pins/versions.js";
import { parseYamlStream } from "../src/core/yaml.js";
import { fixtureSpecs, ROOT } from "./helpers.js";

const config = (gitops: "argocd" | "flux"): RepoConfig => {
  const r = parseRepoConfig(
    `apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\n` +
      `repoURL: https://git.example.com/platform/capi.git\nbranch: main\ngitops: ${gitops}\n`,
  );
  if (!r.config) throw new Error(JSON.stringify(r.findings));
  return r.config;
};
const payloads = versions().managementPayloads ?? {};
/** The whole management layer as Argo CD would apply it: the hydrated charts, then the providers. */
const layer = (): K8sObject[] => [...chartObjects(payloads), ...providerObjects(versions())];
const waveOf = (o: K8sObject) => Number(o.metadata.annotations?.[SYNC_WAVE]);
const BUILT_IN_GROUPS = new Set([
  "",
  "apps",
  "rbac.authorization.k8s.io",
  "apiextensions.k8s.io",
  "admissionregistration.k8s.io",
]);

/**
 * For every object of a kind that a CRD defines: the wave of the CRD that defines it. The object must come in a later
 * wave than its CRD (or the same wave, where Argo CD applies CRDs first within a wave, and Flux within a
 * Kustomization).
 */
function crdOrderProblems(objects: readonly K8sObject[]): string[] {
  const crdWave = new Map<string, number>();
  for (const o of objects.filter((x) => x.kind === "CustomResourceDefinition")) {
    const spec = o.spec as { group: string; names: { kind: string } };
    crdWave.set(`${spec.group}/${spec.names.kind}`, waveOf(o));
  }
  return objects.flatMap((o) => {
    const group = groupOf(o.apiVersion);
    if (BUILT_IN_GROUPS.has(group)) return [];
    const w = crdWave.get(`${group}/${o.kind}`);
    if (w === undefined)
      return [`${o.kind}/${o.metadata.name}: no CRD in the management layer defines ${group}/${o.kind}`];
    return w > waveOf(o) ? [`${o.kind}/${o.metadata.name} (wave ${waveOf(o)}) comes before its CRD (wave ${w})`] : [];
  });
}

describe("the hydrated management charts", () => {
  it(`are in the repository: cert-manager (wave 1), the cluster-api-operator (wave 2), then the providers \
(wave 3)`, () => {
    expect(Object.keys(payloads).sort()).toEqual([
      "management/cert-manager/cert-manager.yaml",
      "management/cert-manager/kustomization.yaml",
      "management/cluster-api-operator/cluster-api-operator.yaml",
      "management/cluster-api-operator/kustomization.yaml",
    ]);
    const byWave = new Map<number, Set<string>>();
    for (const o of layer())
      byWave.set(waveOf(o), (byWave.get(waveOf(o)) ?? new Set()).add(o.metadata.namespace ?? ""));
    expect([...byWave.keys()].sort()).toEqual([1, 2, 3]);
    expect(MANAGEMENT_LAYERS.map((l) => [l.name, l.wave])).toEqual([
      ["cert-manager", 1],
      ["cluster-api-operator", 2],
      ["providers", 3],
    ]);
    const deployments = layer()
      .filter((o) => o.kind === "Deployment")
      .map((o) => `${waveOf(o)} ${o.metadata.namespace}/${o.metadata.name}`);
    expect(deployments).toEqual([
      "1 cert-manager/cert-manager-cainjector",
      "1 cert-manager/cert-manager",
      "1 cert-manager/cert-manager-webhook",
      "2 capi-operator-system/capi-operator-cluster-api-operator",
    ]);
  });

  it(`every custom object comes after the CRD that defines it (the operator's Certificate after cert-manager, \
the providers after the operator)`, () => {
    expect(crdOrderProblems(layer())).toEqual([]);
    // Negative control: cert-manager in the operator's wave or later breaks it.
    const swapped = layer().map((o) =>
      waveOf(o) === 1
        ? { ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, [SYNC_WAVE]: "3" } } }
        : o,
    );
    expect(crdOrderProblems(swapped)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Certificate\/.* \(wave 2\) comes before its CRD \(wave 3\)$/),
        expect.stringMatching(/^Issuer\//),
      ]),
    );
  });

  it("every object is never pruned or deleted, ignored when extraneous, pinned images, no Secret, no Helm hook", () => {
    for (const o of layer()) {
      expect(o.metadata.annotations, `${o.kind}/${o.metadata.name}`).toMatchObject(SYNC_SAFE);
      expect(o.kind).not.toBe("Secret");
      expect(Object.keys(o.metadata.annotations ?? {}).filter((k) => k.startsWith("helm.sh/hook"))).toEqual([]);
    }
    const images = chartObjects(payloads).flatMap((o) => JSON.stringify(o).match(/"image":"[^"]+"/g) ?? []);
    const m = versions().management!;
    expect([...new Set(images)].sort()).toEqual([
      `"image":"quay.io/jetstack/cert-manager-cainjector:${m.certManager.version}"`,
      `"image":"quay.io/jetstack/cert-manager-controller:${m.certManager.version}"`,
      `"image":"quay.io/jetstack/cert-manager-webhook:${m.certManager.version}"`,
      `"image":"${m.clusterApiOperator.image}:${versions().crds[m.clusterApiOperator.crds]!.version}"`,
    ]);
  });

  it("hydrateChart refuses a Secret or a Helm hook", () => {
    const doc = (kind: string, annotations: Record<string, string> = {}) =>
      `apiVersion: v1\nkind: ${kind}\nmetadata:\n  name: x\n  namespace: n\n` +
      `  annotations: ${JSON.stringify(annotations)}\n`;
    expect(() => hydrateChart("cert-manager", doc("Secret"), "n")).toThrow(/Secret/);
    expect(() => hydrateChart("cert-manager", doc("Job", { "helm.sh/hook": "post-install" }), "n")).toThrow(
      /Helm hooks/,
    );
    expect(hydrateChart("cert-manager", doc("ConfigMap"), "n")[0]!.content).toMatch(/^kind: Namespace$/m);
  });

  it(`are exactly what the pinned charts render (go mod download + helm template + kustomize build): \
a second run changes nothing`, async () => {
    const files = await hydrateManagementCharts(() => undefined);
    expect(Object.fromEntries(files.map((f) => [f.path, f.content]))).toEqual(payloads);
  });

  it("management/ builds with kustomize into the three layers (not iam/, not sync/)", async () => {
    const objects = parseYamlStream(await kustomizeBuild(ROOT, "management")) as K8sObject[];
    expect(objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`).sort()).toEqual(
      layer()
        .map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`)
        .sort(),
    );
    expect(objects.some((o) => o.kind === "AWSIAMConfiguration" || o.kind === "Application")).toBe(false);
    expect(
      MANAGEMENT_CHART_DIRS.every((d) =>
        objects.some(
          (o) => o.metadata.annotations?.[SYNC_WAVE] === String(MANAGEMENT_LAYERS.find((l) => l.dir === d)!.wave),
        ),
      ),
    ).toBe(true);
  });
});

describe("Argo CD: one Application over management/, in waves, with a project of its own", () => {
  const c = config("argocd");
  const specs = fixtureSpecs();
  const files = planSync(c, specs);
  const sync = files
    .flatMap((f) => parseYamlStream(f.content) as K8sObject[])
    .filter((o) => o && o.kind !== "Kustomization");

  it("management/sync holds the management AppProject and Application, synced by capi-gitops-sync", () => {
    expect(files.map((f) => f.path)).toEqual(
      expect.arrayContaining([
        "management/sync/management-appproject.yaml",
        "management/sync/management-application.yaml",
      ]),
    );
    const kust = parseYamlStream(files.find((f) => f.path === "management/sync/kustomization.yaml")!.content)[0] as {
      resources: string[];
    };
    expect(kust.resources).toEqual(
      expect.arrayContaining(["management-appproject.yaml", "management-application.yaml"]),
    );
    const app = declaredApplications(sync).find((a) => a.name === MANAGEMENT_APP_NAME)!;
    expect(app.path).toBe("management");
    // The sync layer's own project permits these two objects (they are Argo CD kinds in Argo CD's namespace).
    const self = declaredApplications(sync).find((a) => a.path === "management/sync")!;
    expect(applicationFindings(self, sync, sync, { file: "management/sync/kustomization.yaml" })).toEqual([]);
  });

  it(`its project permits every object of the layer, as Argo CD decides it, \
and nothing lets the clusters' project install them`, () => {
    const app = declaredApplications(sync).find((a) => a.name === MANAGEMENT_APP_NAME)!;
    expect(applicationFindings(app, sync, layer(), { file: "management/kustomization.yaml" })).toEqual([]);
    // Negative control: the same objects under the clusters' project are refused (CRDs, webhooks, cluster RBAC, …).
    const asClusters = { ...app, project: argoObjects(c, specs).project.metadata.name };
    const refused = applicationFindings(asClusters, sync, layer(), { file: "x" }).map(
      (f) => (f.path ?? "").split(":")[1]?.split("/")[0],
    );
    expect(refused).toEqual(
      expect.arrayContaining([
        "CustomResourceDefinition",
        "ValidatingWebhookConfiguration",
        "ClusterRole",
        "Deployment",
        "CoreProvider",
      ]),
    );
    // A kind the layer does not use is not allowed (least privilege): a Secret.
    const secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s", namespace: "cert-manager" },
    } as K8sObject;
    expect(applicationFindings(app, sync, [secret], { file: "x" })).toHaveLength(1);
  });

  it("never prunes, applies server-side, and the clusters' Applications retry until the providers are up", () => {
    const { application } = argoManagementObjects(c);
    expect(application.spec.syncPolicy.automated.prune).toBe(false);
    expect(application.spec.syncPolicy.syncOptions).toContain("ServerSideApply=true");
    expect(argoObjects(c, specs).appset.spec.template.spec.syncPolicy.retry.limit).toBeGreaterThan(0);
  });
});

describe(`Flux: one Kustomization per layer, chained by dependsOn with wait; \
the clusters depend on the providers`, () => {
  const c = config("flux");
  it("cert-manager → cluster-api-operator → providers → every cluster", () => {
    const layers = fluxManagementObjects(c);
    expect(
      layers.map((k) => [k.metadata.name, k.spec.path, k.spec.dependsOn?.map((d) => d.name) ?? [], k.spec.wait]),
    ).toEqual([
      ["capi-gitops-management-cert-manager", "./management/cert-manager", [], true],
      [
        "capi-gitops-management-cluster-api-operator",
        "./management/cluster-api-operator",
        ["capi-gitops-management-cert-manager"],
        true,
      ],
      [
        "capi-gitops-management-providers",
        "./management/providers",
        ["capi-gitops-management-cluster-api-operator"],
        true,
      ],
    ]);
    for (const k of layers) expect(k.spec.deletionPolicy).toBe("Orphan");
    for (const k of fluxObjects(c, fixtureSpecs()).kustomizations)
      expect(k.spec.dependsOn).toEqual([{ name: fluxLayerName("providers") }]);
    const kust = parseYamlStream(
      planSync(c, fixtureSpecs()).find((f) => f.path === "management/sync/kustomization.yaml")!.content,
    )[0] as { resources: string[] };
    expect(kust.resources).toEqual(expect.arrayContaining(layers.map((k) => `${k.metadata.name}.yaml`)));
  });
});

describe("e2e steps (the Go side: e2e/management_test.go)", () => {
  it(`one create step per folder in the engines' order, ending with management/sync; \
the Go suite checks the names' suffixes`, () => {
    expect(MANAGEMENT_LAYER_DIRS).toEqual([
      "management/cert-manager",
      "management/cluster-api-operator",
      "management/providers",
      "management/sync",
    ]);
    const obj = (kind: string) => ({ apiVersion: "v1", kind, metadata: { name: "x" } }) as K8sObject;
    const renders = new Map([...MANAGEMENT_LAYER_DIRS].reverse().map((d) => [d, [obj("ConfigMap")]] as const));
    const steps = managementLayerSteps(renders);
    expect(steps.map((s) => s.name)).toEqual(MANAGEMENT_LAYER_DIRS.map((d) => `management layer ${d}`));
    for (const [i, want] of ["cert-manager", "cluster-api-operator", "providers", "sync"].entries())
      expect(steps[i]!.name.endsWith(`/${want}`)).toBe(true);
    expect(steps.flatMap((s) => s.objects.map((o) => o.expect))).toEqual(["allow", "allow", "allow", "allow"]);
  });
});

describe("README", () => {
  it("gives the one bootstrap command and names the order", async () => {
    const readme = await readFile(path.join(ROOT, "README.md"), "utf8");
    expect(readme).toContain("kubectl apply -k management/sync");
    expect(readme).toMatch(/cert-manager.*cluster-api-operator.*providers.*clusters/s);
  });
});
