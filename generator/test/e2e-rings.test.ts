/**
 * The pure half of the e2e rings run (e2e/rings.ts): the change it releases to every ring, the management folders
 * the box stands in for, and the reading of TestRings' events. The run itself (the real kustomize-controller in the
 * box) is e2e/rings_test.go, run by `npm run e2e`.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  CHANGED_FILE,
  changedFiles,
  clusterKustomization,
  E2E_RINGS,
  fluxSource,
  releasedEverywhere,
  RING_FIXTURES,
  ringsConfig,
  ringsOutcome,
  standInLayers,
  templateName,
} from "../src/e2e/rings.js";
import { candidateFiles, releaseIntegrityFindings, ringReleases, type LoadedRelease } from "../src/plan/release.js";
import { parseRepoConfig } from "../src/cluster-spec/config.js";
import type { K8sObject } from "../src/k8s/object.js";
import type { GoTestEvent } from "../src/tools/go.js";

const kustomization = (name: string, p: string): K8sObject => ({
  apiVersion: "kustomize.toolkit.fluxcd.io/v1",
  kind: "Kustomization",
  metadata: { name, namespace: "flux-system" },
  spec: { path: p, sourceRef: { kind: "GitRepository", name: "capi-gitops" } },
});
const SYNC: K8sObject[] = [
  {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "GitRepository",
    metadata: { name: "capi-gitops", namespace: "flux-system" },
  },
  kustomization("capi-gitops-sync", "./management/sync"),
  kustomization("capi-gitops-management-providers", "./management/providers"),
  kustomization("capi-gitops-management-cert-manager", "./management/cert-manager"),
  kustomization("cluster-a", "./clusters/a"),
  // A kustomize.config.k8s.io Kustomization is not a Flux one.
  { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", metadata: { name: "x" } },
];

describe("the ring repository", () => {
  it("declares the three rings and one small cluster in each, in order", () => {
    const { config, findings } = parseRepoConfig(ringsConfig());
    expect(findings).toEqual([]);
    expect(config?.gitops).toBe("flux");
    expect(config?.rollout?.rings.map((r) => r.name)).toEqual([...E2E_RINGS]);
    expect(RING_FIXTURES.map((f) => [f.ring, f.zones, f.pool])).toEqual(
      E2E_RINGS.map((r) => [r, "us-east-2a", ["name=default,instance-type=t3.large,autoscaling=false,replicas=1"]]),
    );
  });
});

describe("the change released to every ring", () => {
  const files = candidateFiles();
  it("adds one command to the worker template and changes no other file", () => {
    const changed = changedFiles(files, 1);
    expect(Object.keys(changed).filter((f) => changed[f] !== files[f])).toEqual([CHANGED_FILE]);
    const doc: unknown = parse(changed[CHANGED_FILE] ?? "");
    expect(doc).toMatchObject({
      kind: "KubeadmConfigTemplate",
      spec: { template: { spec: { preKubeadmCommands: ["echo capi-gitops e2e rings change 1"] } } },
    });
    const twice = changedFiles(changed, 2);
    expect(parse(twice[CHANGED_FILE] ?? "")).toMatchObject({
      spec: {
        template: {
          spec: { preKubeadmCommands: ["echo capi-gitops e2e rings change 1", "echo capi-gitops e2e rings change 2"] },
        },
      },
    });
  });
  it("writes every ring's release one number up, with a record that matches its files", () => {
    const releases = ringReleases(E2E_RINGS, {});
    const out = releasedEverywhere(releases, 1);
    const loaded: Record<string, LoadedRelease> = {};
    for (const ring of E2E_RINGS) {
      const prefix = `releases/${ring}/`;
      const mine = out.filter((f) => f.path.startsWith(prefix));
      const record = mine.find((f) => f.path === `${prefix}release.json`);
      expect(JSON.parse(record?.content ?? "{}")).toMatchObject({ release: 2 });
      loaded[ring] = {
        record: record?.content,
        files: Object.fromEntries(
          mine.filter((f) => f !== record).map((f) => [f.path.slice(prefix.length), f.content]),
        ),
      };
      expect(loaded[ring]?.files[CHANGED_FILE]).toContain("rings change 1");
    }
    expect(releaseIntegrityFindings(E2E_RINGS, loaded)).toEqual([]);
  });
  it("refuses a release without the template it changes", () => {
    expect(() => changedFiles({}, 1)).toThrow(CHANGED_FILE);
  });
});

describe("reading the sync render", () => {
  it("stands in for every management folder but the sync folder, and no cluster", () => {
    expect(standInLayers(SYNC)).toEqual(["management/cert-manager", "management/providers"]);
  });
  it("finds the source, a cluster's Kustomization and a render's one KubeadmConfigTemplate", () => {
    expect(fluxSource(SYNC)).toEqual({ namespace: "flux-system", name: "capi-gitops" });
    expect(clusterKustomization(SYNC, "a")).toBe("cluster-a");
    expect(() => clusterKustomization(SYNC, "b")).toThrow("clusters/b");
    const kct = (name: string): K8sObject => ({
      apiVersion: "bootstrap.cluster.x-k8s.io/v1beta2",
      kind: "KubeadmConfigTemplate",
      metadata: { name },
    });
    expect(templateName([kct("a-default-1")])).toBe("a-default-1");
    expect(() => templateName([kct("a"), kct("b")])).toThrow("found 2");
  });
});

describe("ringsOutcome", () => {
  const ev = (e: Partial<GoTestEvent>): GoTestEvent => ({ Action: "output", ...e });
  it("reads TestRings' lines and verdict; a skipped run did not run", () => {
    const events = [
      ev({ Test: "TestRings", Output: "rings: +0 s: created: the GitRepository's artifact is main@sha1:1\n" }),
      ev({ Test: "TestRings", Output: "    rings_test.go:431: rings: created: ring early was never seen waiting\n" }),
      ev({ Test: "TestBox", Output: "rings: not mine\n" }),
      ev({ Test: "TestRings", Action: "fail" }),
    ];
    expect(ringsOutcome(events)).toEqual({
      ran: true,
      passed: false,
      lines: [
        "rings: +0 s: created: the GitRepository's artifact is main@sha1:1",
        "rings: created: ring early was never seen waiting",
      ],
    });
    expect(ringsOutcome([ev({ Test: "TestRings", Action: "skip" })]).ran).toBe(false);
  });
});
