/**
 * The order in which the sync engine would let a change reach the clusters, computed from the rendered sync manifests
 * as the engine computes it, and compared with the rings of capi-gitops.yaml:
 * - Argo CD RollingSync (argo-cd v3.5.7 applicationset/progressivesync/progressive_sync.go buildAppDependencyList,
 *   labelMatchedExpression, getAppsToSync): an Application belongs to the first step all of whose matchExpressions
 *   it matches (`In`: the label is present with one of the values; `NotIn`: absent or none of them; any other operator
 *   matches nothing); an Application no step selects is never synced by the rollout; step n+1 starts once every
 *   Application of steps 1..n is Healthy.
 * - Flux (kustomize-controller v1.9.6 internal/controller/kustomization_controller.go checkDependencies): a
 *   Kustomization applies a revision only once every Kustomization in its dependsOn is Ready at that revision of the
 *   same source, so it waits for everything it reaches through dependsOn.
 * Pure.
 */
import type { RepoConfig } from "../cluster-spec/config.js";
import { clusterRing, ringIndex, ringOrder } from "../cluster-spec/rollout.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import type { Finding } from "../core/findings.js";
import { get, isRecord, type K8sObject, list } from "../k8s/object.js";
import { fluxClusterName, ringsOrderSync } from "../plan/sync.js";

/**
 * The RollingSync step (0-based) of each Application, or -1 when no step selects it; without a RollingSync strategy
 * with steps, undefined (every Application syncs on its own).
 */
export function rollingSyncStep(
  appset: K8sObject,
  apps: readonly { name: string; labels?: Readonly<Record<string, string>> }[],
): Map<string, number> | undefined {
  const strategy = get(appset, "spec.strategy");
  const steps = list(get(strategy, "rollingSync.steps"));
  if (get(strategy, "type") !== "RollingSync" || !isRecord(get(strategy, "rollingSync")) || steps.length === 0)
    return undefined;
  const matches = (labels: Readonly<Record<string, string>>, e: unknown): boolean => {
    const key = String(get(e, "key"));
    const operator = get(e, "operator");
    const values = list(get(e, "values")).map(String);
    const value = labels[key];
    if (value === undefined) return operator !== "In";
    if (operator !== "In" && operator !== "NotIn") return false;
    return values.includes(value) ? operator === "In" : operator === "NotIn";
  };
  return new Map(
    apps.map((app) => [
      app.name,
      steps.findIndex((step) => list(get(step, "matchExpressions")).every((e) => matches(app.labels ?? {}, e))),
    ]),
  );
}

/** What each Flux Kustomization waits for: every Kustomization its dependsOn reaches (same namespace by default). */
export function fluxWaitsFor(kustomizations: readonly K8sObject[]): Map<string, Set<string>> {
  const id = (namespace: string | undefined, name: string) => `${namespace ?? ""}/${name}`;
  const direct = new Map(
    kustomizations.map((k) => [
      id(k.metadata.namespace, k.metadata.name),
      list(get(k, "spec.dependsOn")).map((d) =>
        id(
          typeof get(d, "namespace") === "string" ? String(get(d, "namespace")) : k.metadata.namespace,
          String(get(d, "name")),
        ),
      ),
    ]),
  );
  const reached = new Map<string, Set<string>>();
  for (const start of direct.keys()) {
    const seen = new Set<string>();
    const todo = [...(direct.get(start) ?? [])];
    for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
      if (seen.has(next)) continue;
      seen.add(next);
      todo.push(...(direct.get(next) ?? []));
    }
    reached.set(start, seen);
  }
  return reached;
}

const finding = (cluster: string, file: string, path: string, message: string): Finding => ({
  cluster,
  file,
  path,
  rule: "sync-ring-order",
  severity: "error",
  message,
});

/**
 * The engines' order against the rings: with two rings or more, each cluster's Application is selected by its
 * ring's step (Argo CD), or each cluster's Kustomization waits for every cluster of the earlier rings and for none of
 * its own or a later ring (Flux).
 */
export function ringOrderFindings(
  syncObjects: readonly K8sObject[],
  apps: readonly { name: string; from: string; labels?: Readonly<Record<string, string>> }[],
  specs: readonly ClusterSpec[],
  config: RepoConfig,
  inScope: (cluster: string) => boolean,
  file: string,
): Finding[] {
  if (!ringsOrderSync(config)) return [];
  const rings = ringOrder(config).map((r) => r.name);
  const out: Finding[] = [];
  const specOf = new Map(specs.map((s) => [s.name, s]));
  const appset = syncObjects.find((o) => o.kind === "ApplicationSet");
  if (config.gitops === "argocd" && appset) {
    const steps = rollingSyncStep(appset, apps);
    for (const app of apps) {
      const cluster = /^clusters\/([^/]+)\//.exec(app.from)?.[1];
      const spec = cluster === undefined ? undefined : specOf.get(cluster);
      if (!spec || !inScope(spec.name)) continue;
      const ring = clusterRing(spec, config);
      const step = steps?.get(app.name);
      const at = `ApplicationSet/${appset.metadata.name}:spec.strategy.rollingSync.steps`;
      if (step === undefined)
        out.push(
          finding(spec.name, file, at, `no RollingSync strategy: ring ${ring} would sync at once with every ring`),
        );
      else if (step !== ringIndex(ring, config))
        out.push(
          finding(
            spec.name,
            file,
            at,
            step < 0
              ? `no RollingSync step selects Application ${app.name} (ring ${ring}); Argo CD would never sync it`
              : `Application ${app.name} (ring ${ring}) is synced in step ${step + 1}, not in its ring's step ` +
                  `${ringIndex(ring, config) + 1} (${rings.join(" → ")})`,
          ),
        );
    }
  }
  const kustomizations = syncObjects.filter(
    (o) => o.kind === "Kustomization" && o.apiVersion?.startsWith("kustomize.toolkit.fluxcd.io/"),
  );
  if (config.gitops === "flux" && kustomizations.length) {
    const waits = fluxWaitsFor(kustomizations);
    const idOf = new Map(
      kustomizations.map((k) => [k.metadata.name, `${k.metadata.namespace ?? ""}/${k.metadata.name}`]),
    );
    for (const spec of specs) {
      if (!inScope(spec.name)) continue;
      const mine = idOf.get(fluxClusterName(spec.name));
      if (mine === undefined) continue;
      const index = ringIndex(clusterRing(spec, config), config);
      const waited = waits.get(mine) ?? new Set<string>();
      const wrong = specs.filter((other) => {
        const theirs = idOf.get(fluxClusterName(other.name));
        if (other === spec || theirs === undefined) return false;
        const earlier = ringIndex(clusterRing(other, config), config) < index;
        return earlier !== waited.has(theirs);
      });
      for (const other of wrong)
        out.push(
          finding(
            spec.name,
            file,
            `Kustomization/${fluxClusterName(spec.name)}:spec.dependsOn`,
            ringIndex(clusterRing(other, config), config) < index
              ? `does not wait for ${fluxClusterName(other.name)} of the earlier ring ${clusterRing(other, config)}: ` +
                  `a change would reach ring ${clusterRing(spec, config)} before it (${rings.join(" → ")})`
              : `waits for ${fluxClusterName(other.name)} of ring ${clusterRing(other, config)}, which is not ` +
                  `earlier (${rings.join(" → ")})`,
          ),
        );
    }
  }
  return out;
}
