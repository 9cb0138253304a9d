/**
 * What a cluster's own layer (clusters/<name>/kustomization.yaml and the files it lists) may add to the management
 * cluster, checked on the render (pure). The sync engine applies a cluster directory with wide rights in the
 * cluster's namespace (Argo CD's AppProject and Flux's role allow Roles, RoleBindings, ServiceAccounts and
 * Deployments there, for the cluster-autoscaler), and that namespace holds CAPI's `<cluster>-kubeconfig` Secret,
 * the workload cluster's admin credentials. So, whoever wrote them:
 * - access (Role, RoleBinding, ClusterRole, ClusterRoleBinding) only as `generate` writes it: the autoscaler's Role
 *   with exactly its rules, its RoleBinding with exactly its roleRef and subjects (plan/autoscaler.ts);
 * - ServiceAccounts only the generated ones, and a pod runs as one only in the Deployment generated for it;
 * - a pod reads a Secret (volume, projected volume, env, envFrom) only where the tool generates it: the autoscaler's
 *   kubeconfig volume, in a pod whose every container runs the pinned cluster-autoscaler image;
 * - no pod reaches its node (host namespaces, hostPath, privileged containers, added capabilities): on the
 *   management cluster that node holds every cluster's credentials.
 * USER_LAYER_LIMITS is the one list of these rules; README "What a cluster layer may add" is userLayerReadme().
 */
import { isGroupKind } from "../k8s/kinds.js";
import type { ClusterSpec } from "../cluster-spec/types.js";
import type { Finding } from "../core/findings.js";
import { GROUP, kubeconfigSecret } from "../k8s/capi.js";
import { get, groupOf, isRecord, type K8sObject, list } from "../k8s/object.js";
import { clusterAddonConfigMaps, clusterResourceSets } from "../plan/addons.js";
import { autoscalerObjects } from "../plan/autoscaler.js";
import { CLUSTER_NAMESPACE_KINDS } from "../plan/sync.js";
import type { Pins } from "../pins/versions.js";
import type { RenderedCluster } from "../render/render.js";
import type { RuleId } from "../core/rules.js";
import { finding } from "./rule.js";
import { idOf, show } from "./read.js";

const RBAC = "rbac.authorization.k8s.io";
const RBAC_KINDS = ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"] as const;

/** The rules, each with what it allows (README "What a cluster layer may add" is made from this list). */
export const USER_LAYER_LIMITS = [
  {
    rule: "user-layer-rbac",
    kinds: "Role, RoleBinding, ClusterRole, ClusterRoleBinding",
    allowed:
      "only the cluster-autoscaler's Role and RoleBinding as `generate` writes them " +
      "(`<cluster>-cluster-autoscaler`: the Role's rules, the RoleBinding's roleRef and subjects exactly as " +
      "generated); no ClusterRole or ClusterRoleBinding at all",
  },
  {
    rule: "user-layer-serviceaccount",
    kinds: "ServiceAccount; a pod's serviceAccountName",
    allowed:
      "only the generated ServiceAccount (`<cluster>-cluster-autoscaler`), used only by the Deployment of the " +
      "same name; other pods run as `default`",
  },
  {
    rule: "user-layer-secret",
    kinds: "a pod's Secret volumes, projected Secrets, env secretKeyRef, envFrom secretRef",
    allowed:
      "only the autoscaler's volume of `<cluster>-kubeconfig`, in the generated autoscaler Deployment, whose " +
      "every container runs the pinned cluster-autoscaler image (versions.json clusterAutoscaler.image)",
  },
  {
    rule: "user-layer-addons",
    kinds: "ClusterResourceSet, ClusterResourceSetBinding; the ConfigMaps and Secrets a ClusterResourceSet applies",
    allowed:
      "only the generated ClusterResourceSets (`<cluster>-cni`, `-ccm`, `-csi`) with their spec exactly as " +
      "generated, no ClusterResourceSetBinding; every ConfigMap a ClusterResourceSet applies is a generated " +
      "add-on ConfigMap (`<cluster>-addon-…`) present, with data byte for byte the pinned payload in addons/ (no " +
      "patch may change or delete it)",
  },
  {
    rule: "user-layer-host",
    kinds:
      "a pod's hostNetwork, hostPID, hostIPC, hostPath volumes, privileged or allowPrivilegeEscalation " +
      "containers, added capabilities",
    allowed: "none",
  },
] as const satisfies readonly { rule: RuleId; kinds: string; allowed: string }[];

export type UserLayerRule = (typeof USER_LAYER_LIMITS)[number]["rule"];

/** README "What a cluster layer may add": the kinds the sync engines accept, then USER_LAYER_LIMITS as a table. */
export function userLayerReadme(): string {
  const groups = [GROUP.core, GROUP.infra, GROUP.bootstrap, GROUP.controlPlane].map((g) => `\`${g}\``).join(", ");
  const kinds = CLUSTER_NAMESPACE_KINDS.map((k) => `- ${k.kind} (\`${k.group || "v1"}\`);`);
  return [
    "## What a cluster layer may add",
    "",
    "`clusters/<name>/kustomization.yaml` is yours: patch the generated objects, or add objects of your own. Argo CD's",
    "AppProject and Flux's role accept, in the cluster's own namespace only:",
    "",
    `- every kind of the Cluster API groups ${groups};`,
    ...kinds,
    "- cluster-wide, only the cluster's own Namespace.",
    "",
    "Inside that, `validate` (`generator/src/validate/user-layer.ts`, one rule per row; an error names the file and",
    "field) keeps anything from widening access — the namespace holds CAPI's `<cluster>-kubeconfig` Secret, the",
    "workload cluster's admin credentials:",
    "",
    "| rule | what | a cluster layer may add or patch |",
    "|---|---|---|",
    ...USER_LAYER_LIMITS.map((l) => `| \`${l.rule}\` | ${l.kinds} | ${l.allowed} |`),
    "",
    "`npm run diff` flags every change of a Role, RoleBinding, ClusterRole, ClusterRoleBinding or ServiceAccount",
    "(`rbac-changed`: a warning for review, an info line in a new cluster; an error for cluster-wide RBAC or a binding",
    "to a ClusterRole), an added or changed ClusterResourceSet, ClusterResourceSetBinding or add-on ConfigMap",
    "(`addon-changed`, an error: it installs into the workload cluster) and a Secret a Deployment's pods newly read",
    "(`secret-mounted`, a warning).",
    "",
    "",
  ].join("\n");
}

/**
 * Equal as JSON (key order aside; an undefined field is no field): the add-on payloads compared here are the same
 * string in memory (core/yaml.ts parseProgramYaml shares them), so equal ones compare at once.
 */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const x = a ?? null;
  const y = b ?? null;
  if (Array.isArray(x) && Array.isArray(y)) return x.length === y.length && x.every((v, i) => same(v, y[i]));
  if (Array.isArray(x) || Array.isArray(y) || !isRecord(x) || !isRecord(y)) return x === y;
  const keys = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined);
  const kx = keys(x);
  return kx.length === keys(y).length && kx.every((k) => y[k] !== undefined && same(x[k], y[k]));
}

/** The first field path where `a` differs from `b` (below `at`), for a finding that names the field a patch set. */
function firstDifference(a: unknown, b: unknown, at: string): string {
  if (isRecord(a) && isRecord(b)) {
    const key = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort().find((k) => !same(a[k], b[k]));
    return key === undefined ? at : firstDifference(a[key], b[key], `${at}.${key}`);
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    const i = a.findIndex((x, j) => !same(x, b[j]));
    return i < 0 ? at : firstDifference(a[i], b[i], `${at}.${i}`);
  }
  return at;
}

/**
 * The pod spec of a workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job,
 * CronJob) and its field path.
 */
export function podSpecOf(o: K8sObject): { spec: Record<string, unknown>; at: string } | undefined {
  const g = groupOf(o.apiVersion);
  const at =
    g === "" && o.kind === "Pod"
      ? "spec"
      : (g === "apps" && ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"].includes(o.kind)) ||
          (g === "" && o.kind === "ReplicationController") ||
          (g === "batch" && o.kind === "Job")
        ? "spec.template.spec"
        : g === "batch" && o.kind === "CronJob"
          ? "spec.jobTemplate.spec.template.spec"
          : undefined;
  const spec = at ? get(o, at) : undefined;
  return at && isRecord(spec) ? { spec, at } : undefined;
}

const CONTAINER_LISTS = ["initContainers", "containers", "ephemeralContainers"] as const;

/** Every Secret a pod spec reads, with the field path (relative to the pod spec). */
export function secretRefs(pod: Record<string, unknown>): { path: string; name: string; volume: boolean }[] {
  const out: { path: string; name: string; volume: boolean }[] = [];
  list(pod.volumes).forEach((v, i) => {
    if (isRecord(v) && isRecord(v.secret))
      out.push({ path: `volumes.${i}.secret.secretName`, name: show(v.secret.secretName), volume: true });
    list(get(v, "projected.sources")).forEach((s, j) => {
      if (isRecord(s) && isRecord(s.secret))
        out.push({ path: `volumes.${i}.projected.sources.${j}.secret.name`, name: show(s.secret.name), volume: false });
    });
  });
  for (const l of CONTAINER_LISTS)
    list(pod[l]).forEach((c, i) => {
      list(get(c, "env")).forEach((e, j) => {
        const ref = get(e, "valueFrom.secretKeyRef");
        if (isRecord(ref))
          out.push({ path: `${l}.${i}.env.${j}.valueFrom.secretKeyRef.name`, name: show(ref.name), volume: false });
      });
      list(get(c, "envFrom")).forEach((e, j) => {
        const ref = get(e, "secretRef");
        if (isRecord(ref))
          out.push({ path: `${l}.${i}.envFrom.${j}.secretRef.name`, name: show(ref.name), volume: false });
      });
    });
  return out;
}

/** Every way a pod spec reaches its node, with the field path (relative to the pod spec). */
function hostAccess(pod: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const f of ["hostNetwork", "hostPID", "hostIPC"] as const) if (pod[f] === true) out.push(f);
  list(pod.volumes).forEach((v, i) => {
    if (isRecord(v) && v.hostPath !== undefined) out.push(`volumes.${i}.hostPath`);
  });
  for (const l of CONTAINER_LISTS)
    list(pod[l]).forEach((c, i) => {
      if (get(c, "securityContext.privileged") === true) out.push(`${l}.${i}.securityContext.privileged`);
      if (get(c, "securityContext.allowPrivilegeEscalation") === true)
        out.push(`${l}.${i}.securityContext.allowPrivilegeEscalation`);
      if (list(get(c, "securityContext.capabilities.add")).length > 0)
        out.push(`${l}.${i}.securityContext.capabilities.add`);
    });
  return out;
}

const images = (pod: Record<string, unknown>): string[] =>
  CONTAINER_LISTS.flatMap((l) => list(pod[l]).map((c) => show(get(c, "image"))));

const ADDONS_GROUP = GROUP.addons;

/** An object of a render that is not as `generate` writes it: the field and why (user-layer-addons). */
interface AddonDeviation {
  object: K8sObject;
  path: string;
  message: string;
}

/**
 * user-layer-addons over a cluster's rendered objects: a ClusterResourceSet applies its ConfigMaps to the workload
 * cluster with cluster-admin rights, so the ClusterResourceSets are exactly the generated ones (plan/addons.ts
 * clusterResourceSets), no ClusterResourceSetBinding is added, and every ConfigMap a ClusterResourceSet of the render
 * lists is a generated add-on ConfigMap whose data is the pinned payload byte for byte (pins.addonPayloads).
 * Pure; diff flags the same deviations among the objects a change adds or changes (diff/flags.ts addonChanged).
 */
export function addonDeviations(objects: readonly K8sObject[], spec: ClusterSpec, pins: Pins): AddonDeviation[] {
  const out: AddonDeviation[] = [];
  const sets = clusterResourceSets(spec, pins.addons);
  const maps = clusterAddonConfigMaps(spec, pins.addons, pins.addonPayloads ?? {});
  const listed = new Map<string, K8sObject>();
  for (const o of objects) {
    if (!isRecord(o)) continue;
    if (isGroupKind(o, ADDONS_GROUP, "ClusterResourceSetBinding")) {
      out.push({
        object: o,
        path: "spec",
        message:
          "a cluster layer may not add a ClusterResourceSetBinding: add-ons are applied only by the generated " +
          'ClusterResourceSets (README "What a cluster layer may add"); remove it',
      });
      continue;
    }
    if (!isGroupKind(o, ADDONS_GROUP, "ClusterResourceSet")) continue;
    for (const r of list(get(o, "spec.resources"))) {
      const ref = `${show(get(r, "kind"))}/${show(get(r, "name"))}`;
      if (!listed.has(ref)) listed.set(ref, o);
    }
    const g = sets.find((c) => c.metadata.name === o.metadata?.name);
    if (!g)
      out.push({
        object: o,
        path: "spec",
        message:
          `a cluster layer may not add a ClusterResourceSet (it applies its resources to the workload cluster with ` +
          `admin rights); only ${sets.map((c) => c.metadata.name).join(", ") || "none"} are generated for this ` +
          `cluster — remove it`,
      });
    else if (!same(o.spec, g.spec))
      out.push({
        object: o,
        path: firstDifference(o.spec, g.spec, "spec"),
        message:
          `differs from what \`generate\` writes for ClusterResourceSet ${g.metadata.name}; a cluster layer may not ` +
          `change which add-ons reach the workload cluster — remove the patch`,
      });
  }
  for (const [ref, crs] of [...listed].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const slash = ref.indexOf("/");
    const [kind, name] = [ref.slice(0, slash), ref.slice(slash + 1)];
    const cm = kind === "ConfigMap" ? maps.find((m) => m.name === name) : undefined;
    const found = objects.filter(
      (x) => isRecord(x) && x.kind === kind && groupOf(x.apiVersion) === "" && x.metadata?.name === name,
    );
    if (cm && found.length === 0)
      out.push({
        object: crs,
        path: "spec.resources",
        message:
          `lists ConfigMap ${name}, which the render lacks (a patch deleted or renamed it): the workload cluster ` +
          `would not get ${cm.payload}; remove the patch`,
      });
    for (const o of found) {
      if (!cm)
        out.push({
          object: o,
          path: "data",
          message:
            `${kind} ${name} is applied to the workload cluster by a ClusterResourceSet, and is no add-on ConfigMap ` +
            `\`generate\` writes (${maps.map((m) => m.name).join(", ") || "none"}); remove it`,
        });
      else if (cm.data && (!same(o.data, cm.data) || o.binaryData !== undefined)) {
        const field = o.binaryData !== undefined ? "binaryData" : firstDifference(o.data, cm.data, "data");
        out.push({
          object: o,
          path: field,
          message:
            `differs from the pinned add-on payload ${cm.payload} (the ConfigMap's data must be that file byte for ` +
            `byte: a ClusterResourceSet applies it to the workload cluster with admin rights); remove the patch — ` +
            `change an add-on through versions.json and \`npm run addons\``,
        });
      }
    }
  }
  return out;
}

/**
 * The user-layer rules over one cluster's render. `spec` and `pins` say what the tool generates for the cluster
 * (plan/autoscaler.ts); a finding names the file the object came from (its origin), else `fallbackFile`.
 */
export function userLayerRules(rc: RenderedCluster, spec: ClusterSpec, pins: Pins, fallbackFile: string): Finding[] {
  const findings: Finding[] = [];
  let generated: K8sObject[];
  try {
    generated = autoscalerObjects(spec, pins);
  } catch {
    return []; // no autoscaler pinned for the cluster's minor: `generate` refuses the spec, and validate says so
  }
  const mine = (o: K8sObject): K8sObject | undefined =>
    generated.find(
      (g) =>
        g.kind === o.kind &&
        groupOf(g.apiVersion) === groupOf(o.apiVersion) &&
        g.metadata.name === o.metadata?.name &&
        g.metadata.namespace === o.metadata?.namespace,
    );
  const push = (o: K8sObject, path: string, rule: UserLayerRule, message: string) => {
    const i = rc.objects.indexOf(o);
    const where = { cluster: rc.cluster, file: rc.origins[i] ?? fallbackFile, path: `${idOf(o)}:${path}` };
    findings.push(finding(rule, where, message));
  };
  const serviceAccounts = generated.filter((g) => g.kind === "ServiceAccount").map((g) => g.metadata.name);
  const secret = kubeconfigSecret(spec.name).name;
  const autoscalerImage = `${pins.clusterAutoscaler.image}:`;

  for (const d of addonDeviations(rc.objects, spec, pins)) push(d.object, d.path, "user-layer-addons", d.message);

  for (const o of rc.objects) {
    if (!isRecord(o)) continue;
    const g = mine(o);
    // Access: exactly as generated.
    if (groupOf(o.apiVersion) === RBAC && RBAC_KINDS.some((k) => k === o.kind)) {
      const grants: [string, ...string[]] =
        o.kind === "Role" || o.kind === "ClusterRole" ? ["rules"] : ["roleRef", "subjects"];
      const target = o.kind.endsWith("Binding")
        ? ` (roleRef ${show(get(o, "roleRef.kind"))} ${show(get(o, "roleRef.name"))})`
        : "";
      if (!g)
        push(
          o,
          grants[0],
          "user-layer-rbac",
          `a cluster layer may not add a ${o.kind}${target}: access in the management cluster comes only as ` +
            `\`generate\` writes it (README "What a cluster layer may add"); remove it`,
        );
      else
        for (const f of grants)
          if (!same(o[f], g[f]))
            push(
              o,
              firstDifference(o[f], g[f], f),
              "user-layer-rbac",
              `${f} differs from what \`generate\` writes for ${o.kind} ${g.metadata.name}; a cluster layer may ` +
                `not change access in the management cluster — remove the patch`,
            );
    }
    if (isGroupKind(o, "", "ServiceAccount") && !g)
      push(
        o,
        "metadata.name",
        "user-layer-serviceaccount",
        `a cluster layer may not add a ServiceAccount (only ${serviceAccounts.join(", ") || "none"} is generated ` +
          `for this cluster); run pods as \`default\``,
      );
    const pod = podSpecOf(o);
    if (!pod) continue;
    const generatedPod = g && g.kind === o.kind ? podSpecOf(g) : undefined;
    const sa = pod.spec.serviceAccountName ?? pod.spec.serviceAccount;
    if (sa !== undefined && show(sa) !== "default" && !(generatedPod && same(sa, generatedPod.spec.serviceAccountName)))
      push(
        o,
        `${pod.at}.serviceAccountName`,
        "user-layer-serviceaccount",
        `runs as ServiceAccount ${show(sa)}; only the generated Deployment of that name may use ` +
          `${serviceAccounts.includes(show(sa)) ? "it" : "a generated ServiceAccount"} — remove serviceAccountName`,
      );
    const foreign = images(pod.spec).filter((i) => !i.startsWith(autoscalerImage));
    for (const r of secretRefs(pod.spec)) {
      const allowed = generatedPod !== undefined && r.volume && r.name === secret;
      if (!allowed)
        push(
          o,
          `${pod.at}.${r.path}`,
          "user-layer-secret",
          `reads Secret ${r.name}; a cluster layer may not mount or read Secrets (only the generated autoscaler ` +
            `mounts ${secret}) — remove it`,
        );
      else if (foreign.length > 0)
        push(
          o,
          `${pod.at}.${r.path}`,
          "user-layer-secret",
          `mounts ${secret} (the workload cluster's admin credentials) in a pod that also runs ` +
            `${foreign.join(", ")}; only the pinned cluster-autoscaler image (${pins.clusterAutoscaler.image}) may ` +
            `run beside it`,
        );
    }
    for (const p of hostAccess(pod.spec))
      push(
        o,
        `${pod.at}.${p}`,
        "user-layer-host",
        "a pod on the management cluster may not reach its node (the node holds every cluster's credentials); " +
          "remove it",
      );
  }
  return findings;
}
