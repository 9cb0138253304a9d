/**
 * tools/kubectl-validate.ts loads only the CRD folders of the API groups in its input (loading every pinned CRD was
 * most of a run): the folder choice, and the real kubectl-validate finding the same CEL violation with the chosen
 * folders as with all of them.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toYaml } from "../src/core/yaml.js";
import { crdDirs, kubectlValidate } from "../src/tools/kubectl-validate.js";
import { CRDS_DIR } from "../src/tools/resolve.js";
import { tempDir } from "./helpers.js";

const FLUX = "kustomize.toolkit.fluxcd.io";
const dirNames = (groups?: Set<string>) => crdDirs(groups).map((d) => path.relative(CRDS_DIR, d));

describe("crdDirs", () => {
  it("all folders without groups; with groups only the folders defining one of them", () => {
    expect(dirNames()).toEqual(
      expect.arrayContaining([
        "argo-cd",
        "cluster-api-operator",
        "flux-kustomize-controller",
        "flux-source-controller",
      ]),
    );
    expect(dirNames(new Set([FLUX]))).toEqual(["flux-kustomize-controller"]);
    expect(dirNames(new Set(["argoproj.io", "source.toolkit.fluxcd.io"]))).toEqual([
      "argo-cd",
      "flux-source-controller",
    ]);
    // cluster.x-k8s.io's CRDs are in cluster-api; the operator's group is its own (operator.cluster.x-k8s.io).
    expect(dirNames(new Set(["operator.cluster.x-k8s.io"]))).toEqual(["cluster-api-operator"]);
    expect(dirNames(new Set(["", "apps"]))).toEqual([]);
  });
});

describe("kubectlValidate with the groups' folders", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir("capi-gitops-kv-"));
  });
  afterAll(async () => cleanup?.());

  it("finds a Flux Kustomization's CEL violation, as with every CRD loaded", async () => {
    const file = path.join(dir, "k.yaml");
    const kustomization = {
      apiVersion: `${FLUX}/v1`,
      kind: "Kustomization",
      metadata: { name: "k", namespace: "flux-system" },
      spec: {
        interval: "5m",
        path: "./x",
        prune: false,
        sourceRef: { kind: "GitRepository", name: "repo" },
        // The CRD's rule: exactly one of configMapRef and secretRef.
        kubeConfig: { configMapRef: { name: "a" }, secretRef: { name: "b" } },
      },
    };
    const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "flux-system" } };
    await writeFile(file, `${toYaml(kustomization)}---\n${toYaml(cm)}`);
    const scoped = await kubectlValidate([file], { cwd: dir, groups: new Set([FLUX, ""]) });
    const statuses = scoped[file] ?? Object.values(scoped)[0];
    expect(statuses?.map((s) => s.status)).toEqual(["Failure", "Success"]);
    expect(JSON.stringify(statuses?.[0])).toContain("exactly one of spec.kubeConfig.configMapRef or");
    expect(await kubectlValidate([file], { cwd: dir })).toEqual(scoped);
  });
});
