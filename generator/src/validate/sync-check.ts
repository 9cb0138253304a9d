/**
 * What the sync engine would do with the repository, checked before it does it:
 * - Argo CD: the Applications the ApplicationSet's git files generator makes (argo-cd v3.5.7
 *   applicationset/generators/git.go: each matching file's top-level fields are parameters, plus
 *   path.{path,basename,filename,…}; goTemplate) and the bootstrap Application, each checked against its AppProject
 *   as Argo CD does (validate/argo-project.ts): source repo, destination, and every rendered object's group/kind and
 *   namespace.
 * - Flux: the Kustomizations sync exactly the validated clusters' directories.
 * Pure: the caller passes the parsed management/sync objects and the clusters' rendered objects.
 */
import { parseDocument } from "yaml";
import { parsePlainYaml } from "../core/yaml.js";
import type { Finding } from "../core/findings.js";
import { clusterDir } from "../core/layout.js";
import { CLUSTER_SPEC_GLOB } from "../plan/sync.js";
import { get, groupOf, isRecord, type K8sObject, list } from "../k8s/object.js";
import {
  appProjectSpec,
  filepathMatch,
  isDestinationPermitted,
  isGroupKindPermitted,
  isSourcePermitted,
} from "./argo-project.js";

/** Kinds that live outside namespaces (Argo CD asks API discovery; these are the ones a cluster overlay may hold). */
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "Node",
  "PersistentVolume",
  "StorageClass",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "PriorityClass",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
  "APIService",
  "IngressClass",
  "RuntimeClass",
  "CSIDriver",
  "AWSClusterControllerIdentity",
  "AWSClusterRoleIdentity",
  "AWSClusterStaticIdentity",
]);
export const isNamespaced = (o: K8sObject): boolean => !CLUSTER_SCOPED.has(o.kind);

export interface ComputedApplication {
  name: string;
  /** The Application's labels (the template's, rendered; the RollingSync steps select on them). */
  labels?: Record<string, string>;
  project: string;
  repoURL: string;
  path: string;
  server?: string;
  destName?: string;
  namespace: string;
}

const text = (v: unknown): string => String(v);

/**
 * Go template subset of our ApplicationSet: `{{.a.b}}` (missingkey=error), `{{ get . "k" | default .a.b }}` and
 * sprig's `{{ dig "k1" "k2" "default" . }}` (the keys walked through nested maps, the default when one is missing;
 * sprig v3 dict.go: a value on the way that is not a map fails the template).
 */
export function renderTemplate(template: string, params: Record<string, unknown>): string {
  const lookup = (expr: string): unknown => {
    let v: unknown = params;
    for (const key of expr.replace(/^\./, "").split(".")) {
      if (!v || typeof v !== "object" || !(key in v)) throw new Error(`map has no entry for key "${key}" (${expr})`);
      v = get(v, key);
    }
    return v;
  };
  return template.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_m, expr: string) => {
    const [, path] = /^(\.[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)$/.exec(expr) ?? [];
    if (path !== undefined) return String(lookup(path));
    const [, key, fallback] = /^get\s+\.\s+"([^"]+)"\s*\|\s*default\s+(\.[\w.]+)$/.exec(expr) ?? [];
    if (key !== undefined && fallback !== undefined) {
      const v = params[key];
      return v === undefined || v === null || v === "" ? String(lookup(fallback)) : text(v);
    }
    const dig = /^dig((?:\s+"[^"]*")+)\s+\.$/.exec(expr);
    if (dig?.[1] !== undefined) {
      const words = [...dig[1].matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? "");
      const fallback = words.pop() ?? "";
      let v: unknown = params;
      for (const key of words) {
        if (!isRecord(v)) throw new Error(`dig: the value before "${key}" is not a map (${expr})`);
        if (!(key in v)) return fallback;
        v = v[key];
      }
      return text(v);
    }
    throw new Error(`template expression {{${expr}}} is not one capi-gitops can evaluate`);
  });
}

/** The git files generator's parameters of one file (goTemplate): the file's top-level fields and path.*. */
export function fileParams(
  filePath: string,
  content: string,
  known?: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const data: unknown = known ?? parsePlainYaml(content) ?? parseDocument(content).toJS({ maxAliasCount: 50 });
  const fields = isRecord(data) ? data : {};
  const dir = filePath.split("/").slice(0, -1).join("/");
  return {
    ...fields,
    path: { path: dir, basename: dir.split("/").pop(), filename: filePath.split("/").pop(), segments: dir.split("/") },
  };
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const optional = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/**
 * The Applications the ApplicationSets of `syncObjects` generate from `files` (repository path → content; the
 * clusters' spec files), with a finding for each file the controller could not turn into an Application.
 */
export function generatedApplications(
  syncObjects: readonly K8sObject[],
  files: ReadonlyMap<string, string>,
  file: string,
  /** The files' fields where the spec load read them already (repo/load.ts specData), by path. */
  known?: ReadonlyMap<string, Readonly<Record<string, unknown>>>,
): { apps: (ComputedApplication & { from: string })[]; findings: Finding[] } {
  const apps: (ComputedApplication & { from: string })[] = [];
  const findings: Finding[] = [];
  for (const set of syncObjects.filter((o) => o.kind === "ApplicationSet" && groupOf(o.apiVersion) === "argoproj.io")) {
    const t = get(set, "spec.template.spec");
    const tName = str(get(set, "spec.template.metadata.name"));
    for (const g of list(get(set, "spec.generators"))) {
      const patterns = list(get(g, "git.files"));
      if (get(g, "git.directories"))
        findings.push({
          file,
          path: `ApplicationSet/${set.metadata.name}:spec.generators`,
          rule: "argocd-applications",
          severity: "error",
          message:
            "a git directories generator makes an Application for every directory, " +
            "validated or not; use a files generator over " +
            CLUSTER_SPEC_GLOB +
            " (run `npm run generate`)",
        });
      const include = patterns.filter((p) => !get(p, "exclude")).map((p) => str(get(p, "path")));
      const exclude = patterns.filter((p) => get(p, "exclude")).map((p) => str(get(p, "path")));
      for (const [p, content] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (!include.some((pat) => filepathMatch(pat, p)) || exclude.some((pat) => filepathMatch(pat, p))) continue;
        try {
          const params = fileParams(p, content, known?.get(p));
          const labels = get(set, "spec.template.metadata.labels");
          apps.push({
            from: p,
            name: renderTemplate(tName, params),
            labels: isRecord(labels)
              ? Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, renderTemplate(str(v), params)]))
              : undefined,
            project: renderTemplate(str(get(t, "project")), params),
            repoURL: renderTemplate(str(get(t, "source.repoURL")), params),
            path: renderTemplate(str(get(t, "source.path")), params),
            server:
              get(t, "destination.server") !== undefined
                ? renderTemplate(str(get(t, "destination.server")), params)
                : undefined,
            destName:
              get(t, "destination.name") !== undefined
                ? renderTemplate(str(get(t, "destination.name")), params)
                : undefined,
            namespace: renderTemplate(str(get(t, "destination.namespace")), params),
          });
        } catch (e) {
          findings.push({
            file: p,
            rule: "argocd-applications",
            severity: "error",
            message:
              `ApplicationSet ${set.metadata.name} cannot make an Application ` +
              `from this file: ${e instanceof Error ? e.message : String(e)}`,
          });
        }
      }
    }
  }
  return { apps, findings };
}

/** An Application written out in management/sync (the bootstrap), as a ComputedApplication. */
export function declaredApplications(syncObjects: readonly K8sObject[]): ComputedApplication[] {
  return syncObjects
    .filter((o) => o.kind === "Application" && groupOf(o.apiVersion) === "argoproj.io")
    .map((o) => ({
      name: o.metadata.name,
      project: str(get(o, "spec.project")),
      repoURL: str(get(o, "spec.source.repoURL")),
      path: str(get(o, "spec.source.path")),
      server: optional(get(o, "spec.destination.server")),
      destName: optional(get(o, "spec.destination.name")),
      namespace: str(get(o, "spec.destination.namespace")),
    }));
}

/**
 * One Application against its AppProject, as Argo CD would decide it; `objects` are what its source renders
 * (namespaced objects without a namespace land in the destination namespace).
 */
export function applicationFindings(
  app: ComputedApplication,
  projects: readonly K8sObject[],
  objects: readonly K8sObject[],
  at: { cluster?: string; file: string },
): Finding[] {
  const out: Finding[] = [];
  const push = (path: string, message: string) =>
    out.push({
      cluster: at.cluster,
      file: at.file,
      path: `Application/${app.name}:${path}`,
      rule: "argocd-project",
      severity: "error",
      message,
    });
  const project = projects.find((p) => p.kind === "AppProject" && p.metadata.name === app.project);
  if (!project) {
    push(
      "spec.project",
      `project "${app.project}" is not declared in management/sync; Argo ` +
        `CD would refuse the Application (run \`npm run generate\`)`,
    );
    return out;
  }
  const spec = appProjectSpec(project.spec);
  const where = `AppProject ${app.project}`;
  if (!isSourcePermitted(spec, app.repoURL))
    push(
      "spec.source.repoURL",
      `${app.repoURL} is not in ${where}'s sourceRepos (${(spec.sourceRepos ?? []).join(", ")}); ` +
        `Argo CD would refuse to sync it`,
    );
  if (!isDestinationPermitted(spec, { server: app.server, name: app.destName, namespace: app.namespace }))
    push(
      "spec.destination",
      `destination ${app.server ?? app.destName} namespace "${app.namespace}" ` +
        `is not among ${where}'s destinations; Argo CD would refuse to sync ` +
        `it (check the spec's namespace, then run \`npm run generate\`)`,
    );
  const seen = new Set<string>();
  // A cluster's objects share one or two namespaces; the project lists every cluster's: checked once per namespace.
  const byNamespace = new Map<string, boolean>();
  const permitted = (namespace: string): boolean => {
    let ok = byNamespace.get(namespace);
    if (ok === undefined)
      byNamespace.set(
        namespace,
        (ok = isDestinationPermitted(spec, { server: app.server, name: app.destName, namespace })),
      );
    return ok;
  };
  for (const o of objects) {
    const group = groupOf(o.apiVersion);
    const namespaced = isNamespaced(o);
    const id = `${o.kind}/${o.metadata?.name ?? ""}`;
    if (!isGroupKindPermitted(spec, { group, kind: o.kind, name: o.metadata?.name }, namespaced)) {
      const key = `${group}/${o.kind}`;
      if (!seen.has(key))
        push(
          `${id}`,
          `${namespaced ? "namespaced" : "cluster-scoped"} kind ${o.kind} ` +
            `(group "${group}") is not in ${where}'s ` +
            `${namespaced ? "namespaceResourceWhitelist" : "clusterResourceWhitelist"}; ` +
            `Argo CD would refuse to sync it — remove the object or keep to the kinds the project allows`,
        );
      seen.add(key);
      continue;
    }
    const ns = namespaced ? (o.metadata?.namespace ?? app.namespace) : undefined;
    if (ns !== undefined && !permitted(ns))
      push(
        id,
        `namespace "${ns}" is not among ${where}'s destinations; Argo CD ` +
          `would refuse to sync this object — keep the cluster's objects in its own namespace`,
      );
  }
  return out;
}

/**
 * The lower-case plural resource of a kind, as RBAC rules name it (Deployment → deployments, NetworkPolicy →
 * networkpolicies).
 */
const resourceOf = (kind: string): string => {
  const k = kind.toLowerCase();
  return /[^aeiou]y$/.test(k) ? `${k.slice(0, -1)}ies` : /(s|x|ch|sh)$/.test(k) ? `${k}es` : `${k}s`;
};

/**
 * Flux: a Kustomization with `spec.serviceAccountName` applies as that ServiceAccount (kustomize-controller
 * impersonation, in the Kustomization's namespace; `spec.targetNamespace` puts every namespaced object in that
 * namespace). Every rendered object must be allowed, as the API server's RBAC authorizer would decide it, by a role
 * bound to it in the sync manifests: a ClusterRoleBinding (anywhere), or a RoleBinding in the object's namespace (the
 * generated ones: plan/sync.ts fluxAccess) — else Flux would fail to apply the cluster. A rule's resourceNames limit
 * it to those names. A Kustomization without a ServiceAccount applies with the controller's own permissions.
 */
export function fluxPermissionFindings(
  kustomization: K8sObject,
  syncObjects: readonly K8sObject[],
  objects: readonly K8sObject[],
  where: { cluster: string; file: string },
): Finding[] {
  const sa = get(kustomization, "spec.serviceAccountName");
  if (typeof sa !== "string") return [];
  const ns = kustomization.metadata?.namespace;
  const target = get(kustomization, "spec.targetNamespace");
  const rbac = (o: K8sObject, kind: string) => o.kind === kind && groupOf(o.apiVersion) === "rbac.authorization.k8s.io";
  const bindsMe = (b: K8sObject) =>
    list(b.subjects).some(
      (s) =>
        get(s, "kind") === "ServiceAccount" &&
        get(s, "name") === sa &&
        (get(s, "namespace") ?? b.metadata?.namespace) === ns,
    );
  /** The rules of the roles bound to the ServiceAccount in `namespace` (undefined: cluster-wide bindings only). */
  const cache = new Map<string | undefined, unknown[]>();
  const rulesIn = (namespace: string | undefined): unknown[] => {
    let rules = cache.get(namespace);
    if (!rules) cache.set(namespace, (rules = boundRules(namespace)));
    return rules;
  };
  const boundRules = (namespace: string | undefined): unknown[] =>
    syncObjects
      .filter(
        (b) =>
          (rbac(b, "ClusterRoleBinding") ||
            (namespace !== undefined && rbac(b, "RoleBinding") && b.metadata?.namespace === namespace)) &&
          bindsMe(b),
      )
      .flatMap((b) => {
        const kind = get(b, "roleRef.kind");
        const name = get(b, "roleRef.name");
        const roles = syncObjects.filter(
          (r) =>
            (kind === "ClusterRole"
              ? rbac(r, "ClusterRole")
              : kind === "Role" && rbac(r, "Role") && r.metadata?.namespace === b.metadata?.namespace) &&
            r.metadata?.name === name,
        );
        return roles.flatMap((r) => list(r.rules));
      });
  const has = (list: unknown, v: string) => Array.isArray(list) && (list.includes("*") || list.includes(v));
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const o of objects) {
    const group = groupOf(o.apiVersion);
    const namespaced = isNamespaced(o);
    const namespace = namespaced ? (typeof target === "string" ? target : o.metadata?.namespace) : undefined;
    const resource = resourceOf(o.kind);
    const key = `${group}/${o.kind}/${namespace ?? ""}`;
    if (seen.has(key)) continue;
    const allows = (r: unknown) => {
      const names = get(r, "resourceNames");
      return (
        has(get(r, "apiGroups"), group) &&
        has(get(r, "resources"), resource) &&
        has(get(r, "verbs"), "patch") &&
        (!Array.isArray(names) || names.length === 0 || names.includes(o.metadata?.name))
      );
    };
    if (rulesIn(namespace).some(allows)) continue;
    seen.add(key);
    findings.push({
      ...where,
      path: `${o.kind}/${o.metadata?.name ?? ""}`,
      rule: "flux-permissions",
      severity: "error",
      message:
        `Flux applies ${clusterDir(where.cluster)} as ServiceAccount ` +
        `${ns}/${sa}, whose roles do not allow ${resource} (group "${group}")` +
        `${namespace !== undefined ? ` in namespace "${namespace}"` : ` named "${o.metadata?.name ?? ""}"`}; ` +
        `Flux would fail to sync it — keep to the kinds the sync layer permits, ` +
        `in the cluster's own namespace (README, GitOps sync)`,
    });
  }
  return findings;
}
