/**
 * management/providers/: the cluster-api-operator provider objects. Pure checks on the plan, then the real kustomize
 * builds the folder and the real kubeconform (-strict, pinned schemas in schemas/kubeconform/) validates the output.
 */
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mergeOutputs } from "../src/plan/files.js";
import { OPERATOR_API, planProviders, providerObjects } from "../src/plan/providers.js";
import { PROVIDERS_DIR } from "../src/core/layout.js";
import { writeTree } from "../src/repo/write.js";
import { schemaLocation } from "../src/schemas/layout.js";
import { kubeconform } from "../src/tools/kubeconform.js";
import { kustomizeBuild } from "../src/tools/kustomize.js";
import { TOOL_ROOT, versions } from "../src/pins/versions.js";
import { parseYamlStream } from "../src/core/yaml.js";
import { ROOT, tempDir } from "./helpers.js";

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: any;
};

/** versions.json read directly, not through versions(): the test checks the plan against the file. */
const pinned = JSON.parse(readFileSync(path.join(ROOT, "versions.json"), "utf8")) as {
  crds: Record<string, { version: string }>;
};
const CAPI = pinned.crds["cluster-api"]!.version;
const CAPA = pinned.crds["cluster-api-provider-aws"]!.version;

const objects = providerObjects(versions()) as Obj[];
const provider = (kind: string) => {
  const found = objects.filter((o) => o.kind === kind);
  expect(found).toHaveLength(1);
  return found[0]!;
};

function keysDeep(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => keysDeep(x, out));
  else if (v && typeof v === "object")
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      keysDeep(x, out);
    }
  return out;
}

describe("planProviders (pure)", () => {
  it("one Namespace and one provider per provider, with the operator's names and namespaces", () => {
    const providers = objects.filter((o) => o.kind !== "Namespace");
    expect(providers.map((o) => [o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name])).toEqual([
      [OPERATOR_API, "CoreProvider", "capi-system", "cluster-api"],
      [OPERATOR_API, "BootstrapProvider", "capi-kubeadm-bootstrap-system", "kubeadm"],
      [OPERATOR_API, "ControlPlaneProvider", "capi-kubeadm-control-plane-system", "kubeadm"],
      [OPERATOR_API, "InfrastructureProvider", "capa-system", "aws"],
    ]);
    expect(OPERATOR_API).toBe("operator.cluster.x-k8s.io/v1alpha2");
    const namespaces = objects.filter((o) => o.kind === "Namespace");
    expect(namespaces.map((n) => [n.apiVersion, n.metadata.name])).toEqual(
      providers.map((p) => ["v1", p.metadata.namespace]),
    );
    expect(namespaces.every((n) => n.metadata.namespace === undefined)).toBe(true);
  });

  it("versions are the pinned CAPI and CAPA versions from versions.json", () => {
    expect(provider("CoreProvider").spec.version).toBe(CAPI);
    expect(provider("BootstrapProvider").spec.version).toBe(CAPI);
    expect(provider("ControlPlaneProvider").spec.version).toBe(CAPI);
    expect(provider("InfrastructureProvider").spec.version).toBe(CAPA);
  });

  it("MachinePool feature gate on for the core and AWS providers; MachinePoolMachines on the AWS provider", () => {
    expect(provider("CoreProvider").spec.manager).toEqual({ featureGates: { MachinePool: true } });
    expect(provider("InfrastructureProvider").spec.manager).toEqual({
      featureGates: { MachinePool: true, MachinePoolMachines: true },
    });
  });

  it("the AWS provider references its credentials Secret by name only; no Secret object, no secret data", () => {
    expect(provider("InfrastructureProvider").spec.configSecret).toEqual({
      name: "capa-variables",
      namespace: "capa-system",
    });
    for (const o of objects.filter((x) => x.kind !== "InfrastructureProvider"))
      expect(o.spec?.configSecret).toBeUndefined();
    expect(objects.some((o) => o.kind === "Secret")).toBe(false);
    const keys = keysDeep(objects);
    for (const k of ["data", "stringData", "AWS_B64ENCODED_CREDENTIALS"]) expect(keys).not.toContain(k);
  });

  it(`every object is exempt from Argo CD and Flux prune/delete, ignored when extraneous, in the providers' sync wave \
(3)`, () => {
    for (const o of objects)
      expect(o.metadata.annotations).toEqual({
        "argocd.argoproj.io/sync-options": "Prune=false,Delete=false",
        "argocd.argoproj.io/compare-options": "IgnoreExtraneous",
        "kustomize.toolkit.fluxcd.io/prune": "disabled",
        "argocd.argoproj.io/sync-wave": "3",
      });
  });

  it("owned files under management/providers/, listed by the kustomization, with the credentials comment", () => {
    const files = planProviders(versions());
    expect(PROVIDERS_DIR).toBe("management/providers");
    expect(mergeOutputs([files])).toHaveLength(files.length);
    for (const f of files) {
      expect(f.mode).toBe("owned");
      expect(path.posix.dirname(f.path)).toBe(PROVIDERS_DIR);
    }
    const kust = files.find((f) => f.path === `${PROVIDERS_DIR}/kustomization.yaml`)!;
    const [first, ...rest] = kust.content.split("\n");
    expect(first).toMatch(/^# .*capa-variables.*outside this repository/);
    expect(rest.join("\n")).not.toMatch(/AWS_B64ENCODED_CREDENTIALS/);
    const resources = (parseYamlStream(kust.content)[0] as { resources: string[] }).resources;
    expect(resources.sort()).toEqual(
      files
        .filter((f) => f !== kust)
        .map((f) => path.posix.basename(f.path))
        .sort(),
    );
    expect(files).toHaveLength(objects.length + 1);
    // Pure and deterministic.
    expect(planProviders(versions())).toEqual(files);
  });
});

describe("management/providers with the real kustomize and kubeconform", () => {
  let dir = "";
  let cleanup: () => Promise<void>;
  let rendered = "";
  const check = async (name: string, text: string) => {
    const file = path.join(dir, name);
    await writeFile(file, text);
    return kubeconform([file], { cwd: TOOL_ROOT, schemaLocation: schemaLocation(TOOL_ROOT), workers: 2 });
  };

  beforeAll(async () => {
    const t = await tempDir("capi-gitops-providers-");
    dir = t.dir;
    cleanup = t.cleanup;
    await writeTree(dir, { files: planProviders(versions()), roots: [PROVIDERS_DIR] });
    rendered = await kustomizeBuild(dir, PROVIDERS_DIR);
  });
  afterAll(() => cleanup?.());

  it("kustomize renders all objects unchanged", () => {
    const out = parseYamlStream(rendered) as Obj[];
    const key = (o: Obj) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    expect(out.map(key).sort()).toEqual(objects.map(key).sort());
    for (const o of out) expect(o).toEqual(objects.find((x) => key(x) === key(o)));
  });

  it("kubeconform -strict: zero invalid resources", async () => {
    expect(await check("rendered.yaml", rendered)).toEqual([]);
  });

  it("negative controls: a typo'd field, a wrong type and secret data in configSecret are rejected", async () => {
    const typo = rendered.replace("featureGates:", "featureGate:");
    expect(typo).not.toBe(rendered);
    const wrongType = rendered.replace("MachinePool: true", 'MachinePool: "yes"');
    expect(wrongType).not.toBe(rendered);
    const secretData = rendered.replace("name: capa-variables", "name: capa-variables\n    data: c2VjcmV0");
    expect(secretData).not.toBe(rendered);
    for (const [name, text] of [
      ["typo.yaml", typo],
      ["wrong-type.yaml", wrongType],
      ["secret-data.yaml", secretData],
    ] as const) {
      const bad = await check(name, text);
      expect(bad.length, name).toBeGreaterThan(0);
      expect(
        bad.every((r) => r.verdict === "invalid"),
        JSON.stringify(bad),
      ).toBe(true);
    }
  });
});
