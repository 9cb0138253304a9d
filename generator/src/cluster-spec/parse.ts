/**
 * Reading a cluster spec: YAML text → (bounded, single-document) → ajv against the spec schema → defaults →
 * semantic checks. Pure: returns a spec or findings, never throws for bad input.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import semver from "semver";
import { isPair, isScalar, isSeq, parseDocument, visit, type YAMLError } from "yaml";
import { type Finding, quote } from "../core/findings.js";
import { parsePlainYaml } from "../core/yaml.js";
import type { RuleId } from "../core/rules.js";
import { nodeLabelArgs } from "./kubelet.js";
import { checkIpv4Cidr, cidrsOverlap } from "./cidr.js";
import { kubeCidrSizeProblems } from "./kube-cidrs.js";
import { ZONE_SLOTS, zoneSlot, zonesOf } from "./regions.js";
import { reservedNamespaceProblem } from "./reserved.js";
import { fillDefaults } from "./definition.js";
import { clusterSpecSchema } from "./schema.js";
import {
  AZ_NAME,
  type ClusterSpec,
  ClusterSpecDefinition,
  DNS_LABEL,
  INSTANCE_TYPE,
  K8S_VERSION,
  LIMITS,
  SPOT_PRICE,
  type Taint,
  capacityOf,
} from "./types.js";
import { imageFollowsVersion } from "../schemas/ami-inventory.js";
import { isRecord } from "../k8s/object.js";

const PATTERN_HINT: Record<string, string> = {
  [DNS_LABEL]: "lowercase letters, digits and '-', starting with a letter and ending with a letter or digit",
  [K8S_VERSION]: "a Kubernetes version like v1.34.2",
  [INSTANCE_TYPE]: "an EC2 instance type like t3.large",
  [AZ_NAME]: "an availability zone name like ap-northeast-2a",
  [SPOT_PRICE]: "an hourly price in USD like 0.05",
};

/** Kubernetes minors that CAPI v1.13 supports for workload clusters (docs/book/src/reference/versions.md). */
export const SUPPORTED_MINORS = { min: 30, max: 36 } as const;
/**
 * Longest value of a kubeletExtraArgs entry: KubeadmConfig v1beta2 `Arg.value` has maxLength 1024 (CAPI
 * bootstrap/kubeadm/api/v1beta2; generator/test/messages.test.ts checks it against schemas/kubeconform).
 */
export const KUBELET_ARG_VALUE_MAX = 1024;
/** Kubelets may be up to 3 minors older than the API server, never newer (kubernetes.io version-skew-policy). */
export const MAX_KUBELET_SKEW = 3;

// Defaults are not ajv's (useDefaults cannot compute the namespace from the name or sizes from the profile): one
// walk of the definition fills them all (applyDefaults below), after the check.
// Compiled when first needed: every command loads this module (the CLI's flag table), few check a spec.
let compiled: ValidateFunction | undefined;
const validateSchema = (input: unknown): { ok: boolean; errors: ErrorObject[] | null | undefined } => {
  compiled ??= new Ajv({ allErrors: true, strict: false, useDefaults: false, verbose: true }).compile(
    clusterSpecSchema,
  );
  return { ok: compiled(input), errors: compiled.errors };
};

export type SpecInput = Record<string, unknown>;

export interface ParseResult {
  spec?: ClusterSpec;
  findings: Finding[];
  /**
   * The file's fields as a plain YAML reader gives them (no defaults), when the spec is plain and valid: what Argo
   * CD's files generator hands its templates (validate/sync-check.ts fileParams), so that check need not read the
   * spec again.
   */
  data?: Readonly<Record<string, unknown>>;
}

/** The values an ajv `enum` error allows, as a list to print. */
export function allowedValues(e: ErrorObject): string {
  const values: unknown = e.params.allowedValues;
  return (Array.isArray(values) ? values : [values]).join(", ");
}

/** The message of what a parser threw. */
export const thrownMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function ajvFindings(
  errors: ErrorObject[] | null | undefined,
  file: string | undefined,
  cluster: string | undefined,
): Finding[] {
  return (errors ?? []).map((e) => {
    const at = e.instancePath.replace(/^\//, "").replace(/\//g, ".");
    let message = e.message ?? "is invalid";
    if (e.keyword === "additionalProperties") message = `unknown field ${quote(String(e.params.additionalProperty))}`;
    if (e.keyword === "enum") message = `must be one of: ${allowedValues(e)}; got ${quote(e.data)}`;
    if (e.keyword === "const") message = `must be ${JSON.stringify(e.params.allowedValue)}`;
    if (e.keyword === "type") {
      const pattern: unknown = e.parentSchema?.pattern;
      const hint = PATTERN_HINT[String(pattern)];
      message = `must be ${String(e.params.type)}${hint ? ` (${hint})` : ""}, got ${quote(e.data)}`;
    }
    if (e.keyword === "pattern")
      message = `${quote(e.data)} is not ${PATTERN_HINT[String(e.params.pattern)] ?? `matching ${e.params.pattern}`}`;
    const path =
      e.keyword === "additionalProperties" ? [at, String(e.params.additionalProperty)].filter(Boolean).join(".") : at;
    return { cluster, file, path: path || undefined, rule: "spec-schema", severity: "error" as const, message };
  });
}

/**
 * The first YAML error of a file as a user reads it: the line (prettyErrors is off, so it is counted here), the
 * duplicated key by name, several documents said plainly.
 */
export function yamlErrorMessage(text: string, e: YAMLError, what: string): string {
  if (e.code === "MULTIPLE_DOCS" || /multiple documents|Source contains multiple/i.test(e.message))
    return `file holds several YAML documents; ${what} is one document`;
  const at = e.pos?.[0];
  const line = e.linePos?.[0]?.line ?? (typeof at === "number" ? text.slice(0, at).split("\n").length : undefined);
  const where = line ? ` at line ${line}` : "";
  if (e.code === "DUPLICATE_KEY" && typeof at === "number") {
    const key = /^\s*(?:"([^"\n]*)"|'([^'\n]*)'|([^:\n]*?))\s*:/.exec(text.slice(at));
    const name = key?.[1] ?? key?.[2] ?? key?.[3];
    if (name) return `YAML error${where}: key "${name}" appears more than once in the same mapping; keep one`;
  }
  return `YAML error${where}: ${e.message.split("\n")[0]}`;
}

/** Parses cluster.yaml text. Rejects over-large files, several documents, duplicate keys and alias bombs. */
export function parseSpecText(text: string, file?: string): ParseResult {
  const bad = (message: string, path?: string): ParseResult => ({
    findings: [{ file, path, rule: "spec-yaml", severity: "error", message }],
  });
  if (Buffer.byteLength(text, "utf8") > LIMITS.specBytes)
    return bad(
      `file is larger than ${LIMITS.specBytes} bytes (64 KiB, the limit README "Cluster spec" documents); a ` +
        "cluster spec is a few hundred bytes",
    );
  if (text.includes("\uFFFD")) return bad("file is not valid UTF-8");
  // Most specs are plain and valid: read fast; anything to report is read again below, for its positions.
  const plain = parsePlainYaml(text);
  if (isRecord(plain)) {
    const fast = parseSpecObject(plain, file);
    if (fast.findings.length === 0) return { ...fast, data: plain };
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const [yamlError] = doc.errors;
  if (yamlError) return bad(yamlErrorMessage(text, yamlError, "a cluster spec"));
  // Merge keys (`<<: *anchor`) are YAML 1.1 only: YAML 1.2 readers (and our schema) see a field named "<<". A spec
  // is a short, flat file with every field written out, so they are refused with a clear word, not half-supported.
  let merge: { path: string; line?: number } | undefined;
  visit(doc, {
    Pair(_, pair, trail) {
      if (merge || !isScalar(pair.key) || pair.key.value !== "<<") return;
      // The field path: keys of the pairs above, indices of the sequences above.
      const keys: string[] = [];
      const nodes = [...trail, pair];
      nodes.forEach((n, i) => {
        if (isPair(n) && i < nodes.length - 1) keys.push(String(isScalar(n.key) ? n.key.value : n.key));
        if (isSeq(n)) keys.push(String(n.items.indexOf(nodes[i + 1])));
      });
      const at = pair.key.range?.[0];
      merge = { path: keys.join("."), line: typeof at === "number" ? text.slice(0, at).split("\n").length : undefined };
      return visit.BREAK;
    },
  });
  if (merge)
    return bad(
      `YAML merge key "<<"${merge.line ? ` at line ${merge.line}` : ""} is not supported in a cluster spec ` +
        `(it is YAML 1.1 only; YAML 1.2 readers see a field named "<<"); write the fields out`,
      merge.path || undefined,
    );
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 50 });
  } catch (err) {
    return bad(`YAML aliases expand too much (${thrownMessage(err)})`);
  }
  if (!isRecord(data)) return bad("file must hold a mapping (apiVersion, kind, name, region, …)");
  return parseSpecObject(data, file);
}

/** Validates a spec object (from YAML or from CLI flags), applies defaults and checks the semantics. */
export function parseSpecObject(input: SpecInput, file?: string): ParseResult {
  const cluster = typeof input.name === "string" ? input.name : undefined;
  const checked = validateSchema(input);
  if (!checked.ok) return { findings: ajvFindings(checked.errors, file, cluster) };
  const spec = applyDefaults(input);
  return { spec, findings: checkSpec(spec, file) };
}

/** Fills every optional field from the spec's definition (types.ts). Pure; the input must have passed the schema. */
export function applyDefaults(input: SpecInput): ClusterSpec {
  return fillDefaults(ClusterSpecDefinition, input) as ClusterSpec;
}

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * A qualified name's problems (`[prefix/]name`: the name ≤ 63 alphanumerics, '-', '_', '.', the prefix a DNS
 * subdomain), as k8s.io/apimachinery pkg/util/validation IsQualifiedName says them; `what` names the key.
 */
function qualifiedNameProblem(key: string, what: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : "";
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (name.length > 63 || !LABEL_NAME.test(name))
    return `${what} ${quote(key)}: name part must be ≤ 63 alphanumerics, '-', '_' or '.'`;
  if (prefix && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)))
    return `${what} ${quote(key)}: prefix must be a DNS subdomain`;
  return undefined;
}

/**
 * A pool's taints as the API server checks a Node's (k8s.io/kubernetes pkg/apis/core/validation validateNodeTaints:
 * the key a qualified name, the value a label value, the effect one of three, no key+effect pair twice); kubeadm
 * registers them with the kubelet, so a taint the API server refuses would keep the node from registering.
 */
export function taintProblems(taints: readonly Taint[]): { index: number; field: string; message: string }[] {
  const out: { index: number; field: string; message: string }[] = [];
  const seen = new Set<string>();
  taints.forEach((t, index) => {
    const key = qualifiedNameProblem(t.key, "taint key");
    if (key) out.push({ index, field: "key", message: key });
    const value = t.value ?? "";
    if (!LABEL_VALUE.test(value) || value.length > LIMITS.labelValue)
      out.push({
        index,
        field: "value",
        message: `taint value ${quote(value)} must be ≤ 63 alphanumerics, '-', '_' or '.'`,
      });
    const pair = `${t.key}:${t.effect}`;
    if (seen.has(pair))
      out.push({ index, field: "effect", message: `taint ${quote(pair)} is given twice (key and effect)` });
    seen.add(pair);
  });
  return out;
}

/** Label key problems, or undefined. Restricted prefixes mirror the NodeRestriction admission plugin. */
export function labelKeyProblem(key: string): string | undefined {
  const qualified = qualifiedNameProblem(key, "label key");
  if (qualified) return qualified;
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : "";
  const domain = prefix.toLowerCase();
  const restricted = /(^|\.)(kubernetes\.io|k8s\.io)$/.test(domain);
  const allowed = /(^|\.)(node\.kubernetes\.io|kubelet\.kubernetes\.io)$/.test(domain);
  if (restricted && !allowed)
    return (
      `label key ${quote(key)}: kubelets may not set labels under ${domain} (NodeRestriction); use ` +
      "node.kubernetes.io/ or your own prefix"
    );
  return undefined;
}

/** Checks what JSON Schema cannot say. Every finding names the field. */
export function checkSpec(spec: ClusterSpec, file?: string): Finding[] {
  const findings: Finding[] = [];
  const err = (path: string, message: string, rule: RuleId): void => {
    findings.push({ cluster: spec.name, file, path, rule, severity: "error", message });
  };

  // The namespace: never one of the management cluster's own (spec/reserved.ts).
  const reserved = reservedNamespaceProblem(spec.namespace);
  if (reserved) err("namespace", reserved, "namespace-reserved");

  // Zones: each must belong to the region (CAPA creates the subnets there), no duplicates.
  const regionZones = zonesOf(spec.region);
  if (!regionZones) err("region", `unknown AWS region ${quote(spec.region)}`, "region-known");
  spec.availabilityZones.forEach((z, idx) => {
    if (regionZones && !regionZones.includes(z))
      err(
        `availabilityZones.${idx}`,
        `zone ${quote(z)} is not in region ${spec.region} (zones there: ${regionZones.join(", ")})`,
        "az-in-region",
      );
  });
  spec.availabilityZones.forEach((z, idx) => {
    const slot = regionZones?.includes(z) ? zoneSlot(z) : undefined;
    // Each zone's subnets sit at its own slot (plan/cluster.ts subnets); only ZONE_SLOTS fit in the VPC's 16 subnets.
    if (regionZones?.includes(z) && (slot === undefined || slot >= ZONE_SLOTS))
      err(
        `availabilityZones.${idx}`,
        `zone "${z}" has no room for its subnets: zones are addressed by their letter's position in the ` +
          `region, and only the first ${ZONE_SLOTS} fit in the VPC; use another zone`,
        "az-subnet-room",
      );
  });
  if (new Set(spec.availabilityZones).size !== spec.availabilityZones.length)
    err("availabilityZones", "zones must be distinct", "az-distinct");
  if (spec.availabilityZones.length === 0) err("availabilityZones", "at least one zone is needed", "az-in-region");

  // Image: an AMI id, or the lookup fields; CAPA ignores the lookup fields when an id is set
  // (pkg/cloud/services/ec2/ami.go).
  const imageProblem = (image: ClusterSpec["image"], at: string) => {
    if (
      image?.id !== undefined &&
      (image.lookupOrg !== undefined || image.lookupFormat !== undefined || image.lookupBaseOS !== undefined)
    )
      err(
        at,
        "give either `id` or the lookup fields (lookupOrg, lookupFormat, lookupBaseOS), not both: CAPA " +
          "ignores the lookup when an AMI id is set",
        "image-id-or-lookup",
      );
  };
  imageProblem(spec.image, "image");
  spec.nodePools.forEach((p, i) => imageProblem(p.image, `nodePools.${i}.image`));
  // A fixed image (an id, or a lookup format without the version) keeps its kubelet whatever the machine's version:
  // the spec says which version it holds, and every machine using it must run exactly that version.
  const imageVersion = (image: ClusterSpec["image"], at: string, users: { what: string; version: string }[]) => {
    const [first] = users;
    if (!image || !first) return;
    if (image.kubernetesVersion === undefined) {
      if (!imageFollowsVersion(image))
        err(
          `${at}.kubernetesVersion`,
          (image.id !== undefined
            ? `the AMI ${image.id}`
            : `the lookup format ${quote(image.lookupFormat ?? "")} (no {{.K8sVersion}})`) +
            " " +
            "is one image whatever the Kubernetes version: say which version its kubelet is " +
            `(\`kubernetesVersion: ${first.version}\`), so that an upgrade cannot keep it by mistake`,
          "image-version",
        );
      return;
    }
    const wrong = users.filter((u) => u.version !== image.kubernetesVersion);
    if (wrong.length)
      err(
        `${at}.kubernetesVersion`,
        `the image is for Kubernetes ${image.kubernetesVersion}, but ` +
          `${wrong.map((u) => `${u.what} runs ${u.version}`).join(", ")}: machines would boot a kubelet of ` +
          `another version. Set an image built for that version (\`npm run upgrade -- --name ${spec.name} ` +
          `--image-id <ami-…>\`, or a pool's own \`image\`)`,
        "image-version",
      );
  };
  const poolVersion = (p: (typeof spec.nodePools)[number]) => p.kubernetesVersion ?? spec.kubernetesVersion;
  imageVersion(spec.image, "image", [
    { what: "the control plane", version: spec.kubernetesVersion },
    ...spec.nodePools.filter((p) => !p.image).map((p) => ({ what: `pool ${p.name}`, version: poolVersion(p) })),
  ]);
  spec.nodePools.forEach((p, i) =>
    imageVersion(p.image, `nodePools.${i}.image`, [{ what: `pool ${p.name}`, version: poolVersion(p) }]),
  );
  (spec.apiServer.allowedCidrs ?? []).forEach((c, i) => {
    const r = checkIpv4Cidr(c);
    if (!r.ok) err(`apiServer.allowedCidrs.${i}`, r.message, "api-cidr");
  });

  findings.push(...accessFindings(spec, file));

  // Control plane: stacked etcd needs an odd member count (KCP webhook,
  // controlplane/kubeadm/internal/webhooks/kubeadmcontrolplane.go).
  if (spec.controlPlane.replicas < 1 || spec.controlPlane.replicas % 2 === 0)
    err(
      "controlPlane.replicas",
      `must be odd and > 0 (stacked etcd needs a quorum), got ${spec.controlPlane.replicas}`,
      "kcp-replicas-odd",
    );

  const cp = checkVersion(spec.kubernetesVersion);
  if (typeof cp === "string") err("kubernetesVersion", cp, "k8s-version");

  // Pools.
  const seen = new Set<string>();
  spec.nodePools.forEach((p, idx) => {
    const at = `nodePools.${idx}`;
    if (seen.has(p.name)) err(`${at}.name`, `pool name "${p.name}" is used twice`, "pool-unique");
    seen.add(p.name);
    p.availabilityZones.forEach((z, zi) => {
      if (!spec.availabilityZones.includes(z))
        err(
          `${at}.availabilityZones.${zi}`,
          `zone ${quote(z)} is not one of the cluster's zones (${spec.availabilityZones.join(", ")}); the ` +
            "cluster has subnets only there",
          "pool-az-subset",
        );
    });
    if (new Set(p.availabilityZones).size !== p.availabilityZones.length)
      err(`${at}.availabilityZones`, "zones must be distinct", "az-distinct");
    if (p.minSize > p.maxSize)
      err(`${at}.minSize`, `minSize ${p.minSize} is larger than maxSize ${p.maxSize}`, "pool-size");
    if (p.autoscaling && p.replicas !== undefined)
      err(
        `${at}.replicas`,
        "an autoscaled pool carries no replicas in Git (the autoscaler owns them); remove replicas or set " +
          "autoscaling: false",
        "autoscaled-no-replicas",
      );
    if (!p.autoscaling && p.replicas !== undefined && (p.replicas < p.minSize || p.replicas > p.maxSize))
      err(
        `${at}.replicas`,
        p.replicas < p.minSize
          ? `replicas ${p.replicas} is outside minSize..maxSize (${p.minSize}..${p.maxSize}; the minSize may ` +
              `be the profile's default): lower minSize too (${at}.minSize: ${p.replicas}; new-cluster: --pool ` +
              `…,min-size=${p.replicas}) or raise replicas to ${p.minSize}`
          : `replicas ${p.replicas} is outside minSize..maxSize (${p.minSize}..${p.maxSize}; the maxSize may ` +
              `be the profile's default): raise maxSize too (${at}.maxSize: ${p.replicas}; new-cluster: --pool ` +
              `…,max-size=${p.replicas}) or lower replicas to ${p.maxSize}`,
        "pool-size",
      );
    if (spec.workers === "MachineDeployment" && p.maxSize < p.availabilityZones.length)
      err(
        `${at}.maxSize`,
        `maxSize ${p.maxSize} is smaller than the number of zones (${p.availabilityZones.length}); each ` +
          "zone's MachineDeployment needs room for a machine",
        "pool-size",
      );
    if (p.kubernetesVersion !== undefined) {
      const pv = checkVersion(p.kubernetesVersion);
      if (typeof pv === "string") err(`${at}.kubernetesVersion`, pv, "k8s-version");
      else if (typeof cp !== "string") {
        if (pv.minor > cp.minor)
          err(
            `${at}.kubernetesVersion`,
            `${p.kubernetesVersion} is a newer minor than the control plane (${spec.kubernetesVersion}); ` +
              "kubelets must not be newer than the API server",
            "kubelet-skew",
          );
        else if (cp.minor - pv.minor > MAX_KUBELET_SKEW)
          err(
            `${at}.kubernetesVersion`,
            `${p.kubernetesVersion} is more than ${MAX_KUBELET_SKEW} minors older than the control plane ` +
              `(${spec.kubernetesVersion})`,
            "kubelet-skew",
          );
      }
    }
    for (const [k, v] of Object.entries(p.labels)) {
      const problem = labelKeyProblem(k);
      if (problem) err(`${at}.labels`, problem, "label-valid");
      if (!LABEL_VALUE.test(v) || v.length > LIMITS.labelValue)
        err(`${at}.labels.${k}`, `label value ${quote(v)} must be ≤ 63 alphanumerics, '-', '_' or '.'`, "label-valid");
    }
    // The labels become one kubelet argument (node-labels=k=v,…) whose length the KubeadmConfig schema bounds.
    for (const arg of nodeLabelArgs(p.labels))
      if (arg.value.length > KUBELET_ARG_VALUE_MAX)
        err(
          `${at}.labels`,
          `the labels make the kubelet's ${arg.name} argument ${arg.value.length} characters long; ` +
            `KubeadmConfig allows at most ${KUBELET_ARG_VALUE_MAX} (kubeletExtraArgs value); use fewer or ` +
            "shorter labels",
          "label-valid",
        );
    for (const p2 of taintProblems(p.taints ?? []))
      err(`${at}.taints.${p2.index}.${p2.field}`, p2.message, "taint-valid");
    for (const problem of capacityProblems(spec, p)) err(`${at}.${problem.field}`, problem.message, "pool-capacity");
    const longest =
      spec.workers === "MachineDeployment" ? `${spec.name}-${p.name}-${"x".repeat(2)}` : `${spec.name}-${p.name}`;
    if (longest.length > 63)
      err(
        `${at}.name`,
        `derived object name "${longest}" is longer than 63 characters (a label value, CAPI ` +
          "internal/webhooks/machinepool.go); shorten the cluster or pool name",
        "name-length",
      );
  });

  // Network: valid, the VPC between /16 and /24 (we carve 16 subnets of /prefix+4, AWS subnets are /28 at the
  // smallest), no overlaps.
  const nets: [string, string][] = [
    ["network.vpcCidr", spec.network.vpcCidr],
    ["network.podCidr", spec.network.podCidr],
    ["network.serviceCidr", spec.network.serviceCidr],
  ];
  const valid: [string, string][] = [];
  for (const [path, value] of nets) {
    const c = checkIpv4Cidr(value);
    if (!c.ok) err(path, c.message, "cidr-valid");
    else valid.push([path, value]);
    if (c.ok && path === "network.vpcCidr" && (c.prefix < 16 || c.prefix > 24))
      err(
        path,
        `VPC CIDR must be /16 to /24 (AWS allows /16../28; 16 subnets are carved from it), got /${c.prefix}`,
        "cidr-valid",
      );
  }
  // Sizes the cluster's own kube-apiserver / kube-controller-manager refuse (spec/kube-cidrs.ts).
  if (typeof cp !== "string")
    for (const p of kubeCidrSizeProblems(cp.minor, spec.network.podCidr, spec.network.serviceCidr))
      err(p.path, p.message, "cidr-size");
  valid.forEach(([pa, va], a) => {
    for (const [pb, vb] of valid.slice(a + 1))
      if (cidrsOverlap(va, vb)) err(pb, `${vb} overlaps ${pa} (${va})`, "cidr-overlap");
  });
  return findings;
}

/** The whole IPv4 internet: a /0 (whatever its address bits, every address is in it). */
const isWholeInternet = (cidr: string): boolean => /\/0$/.test(cidr.trim());

/**
 * Identity, access and the internal API: what a spec must say for CAPA to act in the right account, for operators to
 * reach the machines only the way the spec says, and for the management cluster to reach an internal API.
 */
function accessFindings(spec: ClusterSpec, file: string | undefined): Finding[] {
  const findings: Finding[] = [];
  const say = (path: string, rule: RuleId, message: string, severity: "error" | "warning" = "error") =>
    findings.push({ cluster: spec.name, file, path, rule, severity, message });
  const id = spec.identity;
  if (id) {
    const both = id.roleArn !== undefined && id.secretRef !== undefined;
    if (both || (id.roleArn === undefined && id.secretRef === undefined))
      say(
        both ? "identity.secretRef" : "identity",
        "identity-kind",
        "give either `roleArn` (a role CAPA assumes, AWSClusterRoleIdentity) or `secretRef` (static credentials in " +
          "a Secret outside Git, AWSClusterStaticIdentity), exactly one",
      );
    if (!both && id.secretRef !== undefined && id.account === undefined)
      say(
        "identity.account",
        "identity-kind",
        "a `secretRef` identity needs the credentials' AWS `account` (12 digits): the VPC CIDR fleet rule " +
          "compares the clusters of one account",
      );
    if (id.roleArn !== undefined && id.account !== undefined)
      say("identity.account", "identity-kind", "a role's account is its ARN's: remove `account`");
  }
  const api = spec.apiServer;
  if (api.scheme === "internal") {
    if (api.managementConnection === undefined && api.managementReachAcknowledged !== true)
      say(
        "apiServer.managementConnection",
        "internal-api-reach",
        "an internal API load balancer is reachable only from the VPC and networks joined to it, and CAPI's " +
          "controllers on the management cluster must reach it: name the VPC peering (pcx-…) or transit gateway " +
          "attachment (tgw-attach-…) that joins the management cluster's VPC, or set " +
          "`apiServer.managementReachAcknowledged: true` if it reaches the VPC another way",
      );
  } else if (api.managementConnection !== undefined || api.managementReachAcknowledged !== undefined)
    say(
      api.managementConnection !== undefined
        ? "apiServer.managementConnection"
        : "apiServer.managementReachAcknowledged",
      "internal-api-reach",
      "only an internal API (`apiServer.scheme: internal`) needs the management cluster's way into the VPC; remove it",
    );
  if (spec.access === "ssm" && spec.sshKeyName !== undefined)
    say(
      "sshKeyName",
      "access-ssh-key",
      "with `access: ssm` operators connect through Session Manager, which logs every session: an SSH key on the " +
        "machines would be a second, unlogged way in; remove sshKeyName",
    );
  if (spec.access === "bastion" && spec.sshKeyName === undefined)
    say(
      "sshKeyName",
      "access-ssh-key",
      "`access: bastion` is SSH through CAPA's bastion host: name the EC2 key pair (sshKeyName) it and the " +
        "machines get",
    );
  if (spec.access === "bastion" && spec.bastion === undefined)
    say(
      "bastion.allowedCidrs",
      "bastion-cidrs",
      "`access: bastion` needs `bastion.allowedCidrs`: without them CAPA opens the bastion's SSH port to 0.0.0.0/0",
    );
  if (spec.access !== "bastion" && spec.bastion !== undefined)
    say(
      "bastion",
      "bastion-cidrs",
      `\`bastion\` is only for \`access: bastion\` (access is ${spec.access}); remove it`,
    );
  (spec.bastion?.allowedCidrs ?? []).forEach((c, i) => {
    const at = `bastion.allowedCidrs.${i}`;
    const r = checkIpv4Cidr(c);
    if (!r.ok) say(at, "bastion-cidrs", r.message);
    else if (isWholeInternet(c))
      say(
        at,
        "bastion-cidrs",
        `${c} opens the bastion's SSH port to the whole internet; allow your operators' networks only`,
        spec.profile === "prod" ? "error" : "warning",
      );
  });
  return findings;
}

/**
 * What a pool's capacity fields cannot say together. A MachineDeployment's machines are single instances
 * (AWSMachineTemplate: one instance type, spotMarketOptions or none), so only a MachinePool's auto scaling group can
 * mix markets and types (AWSMachinePool mixedInstancesPolicy, CAPA exp/api/v1beta2/types.go); CAPA's webhook refuses
 * spotMarketOptions beside a mixedInstancesPolicy (exp/webhooks/awsmachinepool_webhook.go validateSpotInstances), and
 * an InstancesDistribution has no maximum price.
 */
export function capacityProblems(
  spec: Pick<ClusterSpec, "workers">,
  p: ClusterSpec["nodePools"][number],
): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  const capacity = capacityOf(p);
  const types = p.instanceTypes ?? [];
  const bad = (field: string, message: string) => out.push({ field, message });
  if (capacity === "mixed" && spec.workers === "MachineDeployment")
    bad(
      "capacityType",
      "mixed needs `workers: MachinePool`: a MachineDeployment's machines are single instances of one " +
        "AWSMachineTemplate (one instance type, spot or not), while a mix of on-demand and spot over several " +
        "types is an auto scaling group's mixedInstancesPolicy (CAPA exp/api/v1beta2/types.go); use spot, or " +
        "MachinePools",
    );
  if (types.length && spec.workers === "MachineDeployment")
    bad(
      "instanceTypes",
      "several instance types need `workers: MachinePool` (an AWSMachineTemplate has one instanceType); make " +
        "another pool for the other type",
    );
  else if (types.length && capacity === "on-demand")
    bad("instanceTypes", "further instance types are for spot or mixed pools (the group's mixedInstancesPolicy)");
  if (types.includes(p.instanceType))
    bad("instanceTypes", `${quote(p.instanceType)} is the pool's instanceType already; list only the others`);
  if (p.spotMaxPrice !== undefined && capacity !== "spot")
    bad("spotMaxPrice", "a maximum spot price is for capacityType: spot");
  else if (p.spotMaxPrice !== undefined && types.length)
    bad(
      "spotMaxPrice",
      "a spot pool of several instance types is a mixedInstancesPolicy, whose InstancesDistribution has no " +
        "maximum price (CAPA exp/api/v1beta2/types.go): drop spotMaxPrice or the further instanceTypes",
    );
  for (const f of ["onDemandBase", "onDemandPercentageAboveBase"] as const)
    if (p[f] !== undefined && capacity !== "mixed") bad(f, `${f} is for capacityType: mixed`);
  if (p.spotAllocationStrategy !== undefined && capacity !== "mixed" && !(capacity === "spot" && types.length))
    bad(
      "spotAllocationStrategy",
      "a spot allocation strategy is for mixed pools and spot pools of several instance types",
    );
  if (capacity === "mixed" && p.onDemandPercentageAboveBase === undefined)
    bad(
      "onDemandPercentageAboveBase",
      "a mixed pool says its on-demand share above the base (0–100); AWS's default, 100, would buy no spot",
    );
  return out;
}

/** Parses `vX.Y.Z` and checks it is a supported workload version; returns a message when not. */
export function checkVersion(v: string): semver.SemVer | string {
  const parsed = new RegExp(K8S_VERSION).test(v) ? semver.parse(v.slice(1)) : null;
  if (!parsed) return `${quote(v)} is not a Kubernetes version like v1.34.2`;
  if (parsed.major !== 1 || parsed.minor < SUPPORTED_MINORS.min || parsed.minor > SUPPORTED_MINORS.max)
    return (
      `${v} is outside what the pinned Cluster API supports for workload clusters ` +
      `(v1.${SUPPORTED_MINORS.min}–v1.${SUPPORTED_MINORS.max})`
    );
  return parsed;
}
