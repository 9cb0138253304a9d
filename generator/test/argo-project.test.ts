/** Argo CD's AppProject matching (validate/argo-project.ts), table-driven against what argo-cd v3.5.7 decides. */
import { describe, expect, it } from "vitest";
import {
  type AppProjectSpec,
  filepathMatch,
  gobwasGlob,
  isDestinationPermitted,
  isGroupKindPermitted,
  isSourcePermitted,
  normalizeGitURL,
} from "../src/validate/argo-project.js";

describe("1: glob dialects", () => {
  it.each([
    // pattern, value, separators, gobwas/glob result
    ["*", "anything/at/all", [], true],
    ["team-*", "team-a", [], true],
    ["team-*", "other", [], false],
    ["https://github.com/org/*", "https://github.com/org/repo", ["/"], true],
    ["https://github.com/org/*", "https://github.com/org/sub/repo", ["/"], false],
    ["https://github.com/org/**", "https://github.com/org/sub/repo", ["/"], true],
    ["team-?", "team-a", [], true],
    ["team-[ab]", "team-c", [], false],
    ["team-[!ab]", "team-c", [], true],
    ["{team,ops}-*", "ops-1", [], true],
    ["a.b", "axb", [], false],
  ] as [string, string, string[], boolean][])("gobwas %s ~ %s (separators %j) → %s", (pattern, value, seps, want) => {
    expect(gobwasGlob(pattern, seps).test(value)).toBe(want);
  });

  it.each([
    ["*", "MachinePool", true],
    ["*", "a/b", false],
    ["cluster.x-k8s.io", "cluster.x-k8s.io", true],
    ["*.cluster.x-k8s.io", "infrastructure.cluster.x-k8s.io", true],
    ["*.cluster.x-k8s.io", "cluster.x-k8s.io", false],
    ["", "", true],
    ["", "apps", false],
    ["Machine?ool", "MachinePool", true],
    ["[^M]achinePool", "MachinePool", false],
    ["[", "[", false],
  ] as [string, string, boolean][])("filepath.Match(%j, %j) → %s", (pattern, value, want) => {
    expect(filepathMatch(pattern, value)).toBe(want);
  });
});

describe("1: NormalizeGitURL", () => {
  it.each([
    ["https://GitHub.com/Org/Repo.git", "https://github.com/org/repo"],
    ["git@github.com:org/repo.git", "git@github.com/org/repo"],
    ["ssh://git@github.com/org/repo.git", "git@github.com/org/repo"],
    [" https://git.example.com/x ", "https://git.example.com/x"],
  ])("%s → %s", (url, want) => {
    expect(normalizeGitURL(url)).toBe(want);
  });
});

const project = (spec: AppProjectSpec) => spec;

describe("1: IsSourcePermitted", () => {
  it.each([
    [["https://git.example.com/platform/capi.git"], "https://git.example.com/platform/capi", true],
    [["https://git.example.com/platform/capi.git"], "https://git.example.com/platform/other.git", false],
    [["https://git.example.com/platform/*"], "https://git.example.com/platform/capi.git", true],
    [["*"], "https://anything", true],
    [["*", "!https://git.example.com/evil/*"], "https://git.example.com/evil/x", false],
    [[], "https://git.example.com/platform/capi.git", false],
  ] as [string[], string, boolean][])("sourceRepos %j, repo %s → %s", (sourceRepos, repo, want) => {
    expect(isSourcePermitted(project({ sourceRepos }), repo)).toBe(want);
  });
});

describe("1: IsDestinationPermitted", () => {
  const svc = "https://kubernetes.default.svc";
  it.each([
    [[{ server: svc, namespace: "team-a" }], "team-a", true],
    [[{ server: svc, namespace: "team-a" }], "bar", false],
    [[{ server: "*", namespace: "team-*" }], "team-b", true],
    [[{ server: "https://other", namespace: "team-a" }], "team-a", false],
    [
      [
        { server: svc, namespace: "*" },
        { server: svc, namespace: "!kube-system" },
      ],
      "kube-system",
      false,
    ],
    [
      [
        { server: svc, namespace: "*" },
        { server: svc, namespace: "!kube-system" },
      ],
      "team-a",
      true,
    ],
    [[], "team-a", false],
  ] as [AppProjectSpec["destinations"], string, boolean][])(
    "destinations %j, namespace %s → %s",
    (destinations, namespace, want) => {
      expect(isDestinationPermitted(project({ destinations }), { server: svc, namespace })).toBe(want);
    },
  );
});

describe("1: IsGroupKindPermitted", () => {
  const capi = project({
    clusterResourceWhitelist: [{ group: "", kind: "Namespace" }],
    namespaceResourceWhitelist: [
      { group: "cluster.x-k8s.io", kind: "*" },
      { group: "*.cluster.x-k8s.io", kind: "*" },
    ],
  });
  it.each([
    [capi, { group: "", kind: "Namespace" }, false, true],
    [capi, { group: "rbac.authorization.k8s.io", kind: "ClusterRole" }, false, false],
    [capi, { group: "cluster.x-k8s.io", kind: "MachinePool" }, true, true],
    [capi, { group: "infrastructure.cluster.x-k8s.io", kind: "AWSCluster" }, true, true],
    [capi, { group: "", kind: "ConfigMap" }, true, false],
    [capi, { group: "", kind: "Secret" }, true, false],
    // No namespaced whitelist: every namespaced kind; an empty one: none. An empty cluster whitelist: none.
    [project({}), { group: "", kind: "ConfigMap" }, true, true],
    [project({ namespaceResourceWhitelist: [] }), { group: "", kind: "ConfigMap" }, true, false],
    [project({}), { group: "", kind: "Namespace" }, false, false],
    [
      project({ namespaceResourceBlacklist: [{ group: "", kind: "Secret" }] }),
      { group: "", kind: "Secret" },
      true,
      false,
    ],
    [
      project({ clusterResourceWhitelist: [{ group: "", kind: "Namespace", name: "team-*" }] }),
      { group: "", kind: "Namespace", name: "kube-system" },
      false,
      false,
    ],
    [
      project({ clusterResourceWhitelist: [{ group: "", kind: "Namespace", name: "team-*" }] }),
      { group: "", kind: "Namespace", name: "team-a" },
      false,
      true,
    ],
  ] as [AppProjectSpec, { group: string; kind: string; name?: string }, boolean, boolean][])(
    "%#: %j namespaced=%s → %s",
    (p, gk, namespaced, want) => {
      expect(isGroupKindPermitted(p, gk, namespaced)).toBe(want);
    },
  );
});
