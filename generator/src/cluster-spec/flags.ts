/**
 * The spec flags of `new-cluster` and the keys of `--pool`, each declared once: flag, value, help text and the spec
 * field it sets. The parser options, the help, the NewClusterFlags type, specInputFromFlags and the field → flag
 * mapping of findings are all derived from these two tables. Pure: no I/O.
 */
import type { Finding } from "../core/findings.js";
import type { RuleId } from "../core/rules.js";
import type { SpecInput } from "./parse.js";
import { DEFAULTS } from "./types.js";
import { imageFollowsVersion } from "../schemas/ami-inventory.js";
import { CAPI_GITOPS_API_VERSION } from "../core/vocabulary.js";
import { isRecord } from "../k8s/object.js";

/** How a flag's text becomes the spec value. */
type Kind = "string" | "integer" | "boolean" | "list" | "labels" | "taints" | "pools";

interface SpecFlagDef {
  /** The flag without its dashes. */
  readonly flag: string;
  /** The NewClusterFlags key. */
  readonly key: string;
  /** The placeholder shown in the help. */
  readonly value: string;
  /** The spec field it sets (dot path); findings on this field or below it name the flag. */
  readonly field: string;
  readonly kind: Kind;
  readonly help: string;
}

const def = <const T extends SpecFlagDef>(d: T): T => d;

/** `new-cluster`'s flags that set a spec field, in help order. */
export const SPEC_FLAGS = [
  def({
    flag: "name",
    key: "name",
    value: "<name>",
    field: "name",
    kind: "string",
    help: "cluster name: [a-z]([-a-z0-9]*[a-z0-9])?, ≤ 40 characters (required)",
  }),
  def({
    flag: "namespace",
    key: "namespace",
    value: "<ns>",
    field: "namespace",
    kind: "string",
    help: "management-cluster namespace (default: the name)",
  }),
  def({
    flag: "region",
    key: "region",
    value: "<region>",
    field: "region",
    kind: "string",
    help: "AWS region, e.g. ap-northeast-2 (required)",
  }),
  def({
    flag: "zones",
    key: "zones",
    value: "<a,b,c>",
    field: "availabilityZones",
    kind: "list",
    help: "availability zones (default: the region's first three)",
  }),
  def({
    flag: "kubernetes-version",
    key: "kubernetesVersion",
    value: "<vX.Y.Z>",
    field: "kubernetesVersion",
    kind: "string",
    help: "default v1.34.2",
  }),
  def({
    flag: "profile",
    key: "profile",
    value: "dev|prod",
    field: "profile",
    kind: "string",
    help: "default dev (sizes and health-check strictness)",
  }),
  def({
    flag: "workers",
    key: "workers",
    value: "MachineDeployment|MachinePool",
    field: "workers",
    kind: "string",
    help: "default MachineDeployment (drains every removed node)",
  }),
  def({
    flag: "control-plane-replicas",
    key: "controlPlaneReplicas",
    value: "<odd n>",
    field: "controlPlane.replicas",
    kind: "integer",
    help: "default from the profile (dev 1, prod 3)",
  }),
  def({
    flag: "control-plane-instance-type",
    key: "controlPlaneInstanceType",
    value: "<t>",
    field: "controlPlane.instanceType",
    kind: "string",
    help: "default from the profile",
  }),
  def({
    flag: "pool",
    key: "pool",
    value: "<spec>",
    field: "nodePools",
    kind: "pools",
    help: 'a node pool, repeatable; default one pool "default". <spec> is',
  }),
  def({
    flag: "vpc-cidr",
    key: "vpcCidr",
    value: "<cidr>",
    field: "network.vpcCidr",
    kind: "string",
    help: "default: a free 10.N.0.0/16, N from a hash of the name (/16../24)",
  }),
  def({
    flag: "pod-cidr",
    key: "podCidr",
    value: "<cidr>",
    field: "network.podCidr",
    kind: "string",
    help: "default 192.168.0.0/16",
  }),
  def({
    flag: "service-cidr",
    key: "serviceCidr",
    value: "<cidr>",
    field: "network.serviceCidr",
    kind: "string",
    help: "default 10.96.0.0/12",
  }),
  def({
    flag: "cni",
    key: "cni",
    value: "cilium|calico|none",
    field: "network.cni",
    kind: "string",
    help: "CNI installed from Git (default cilium; none: bring your own)",
  }),
  def({
    flag: "storage",
    key: "storage",
    value: "ebs|none",
    field: "storage",
    kind: "string",
    help: "EBS CSI driver + default gp3 StorageClass (default ebs)",
  }),
  def({
    flag: "api-server-scheme",
    key: "apiServerScheme",
    value: "internet-facing|internal",
    field: "apiServer.scheme",
    kind: "string",
    help: "control-plane load balancer scheme (default internet-facing)",
  }),
  def({
    flag: "api-allowed-cidrs",
    key: "apiAllowedCidrs",
    value: "<cidr,…>",
    field: "apiServer.allowedCidrs",
    kind: "list",
    help: "who may reach the API on 6443 (default: CAPA opens it to 0.0.0.0/0)",
  }),
  def({
    flag: "api-management-connection",
    key: "apiManagementConnection",
    value: "<pcx-…|tgw-attach-…>",
    field: "apiServer.managementConnection",
    kind: "string",
    help: "internal API: the peering or transit gateway attachment the management cluster reaches the VPC through",
  }),
  def({
    flag: "api-management-reach-acknowledged",
    key: "apiManagementReachAcknowledged",
    value: "true|false",
    field: "apiServer.managementReachAcknowledged",
    kind: "boolean",
    help: "internal API: the management cluster reaches the VPC another way (VPN, Direct Connect)",
  }),
  def({
    flag: "identity-role-arn",
    key: "identityRoleArn",
    value: "<arn:aws:iam::…:role/…>",
    field: "identity.roleArn",
    kind: "string",
    help: "role CAPA assumes for this cluster's account (AWSClusterRoleIdentity; default: the controller's own)",
  }),
  def({
    flag: "identity-secret",
    key: "identitySecret",
    value: "<secret>",
    field: "identity.secretRef",
    kind: "string",
    help: "Secret of static credentials in CAPA's namespace, made outside Git (AWSClusterStaticIdentity)",
  }),
  def({
    flag: "identity-account",
    key: "identityAccount",
    value: "<12 digits>",
    field: "identity.account",
    kind: "string",
    help: "AWS account of --identity-secret's credentials",
  }),
  def({
    flag: "access",
    key: "access",
    value: "none|ssm|bastion",
    field: "access",
    kind: "string",
    help: "how operators reach the machines (default none; ssm: Session Manager, no SSH key)",
  }),
  def({
    flag: "bastion-allowed-cidrs",
    key: "bastionAllowedCidrs",
    value: "<cidr,…>",
    field: "bastion.allowedCidrs",
    kind: "list",
    help: "with --access bastion: who may SSH to the bastion (required; never 0.0.0.0/0 on prod)",
  }),
  def({
    flag: "bastion-instance-type",
    key: "bastionInstanceType",
    value: "<t>",
    field: "bastion.instanceType",
    kind: "string",
    help: "with --access bastion: the bastion's instance type (default: CAPA's)",
  }),
  def({
    flag: "image-id",
    key: "imageId",
    value: "<ami-…>",
    field: "image.id",
    kind: "string",
    help:
      "AMI in the region for every machine (default: CAPA's public image, published only for some " +
      "versions and regions)",
  }),
  def({
    flag: "image-lookup-org",
    key: "imageLookupOrg",
    value: "<account>",
    field: "image.lookupOrg",
    kind: "string",
    help: "AWS account whose images CAPA looks up by name (your image-builder account)",
  }),
  def({
    flag: "image-lookup-format",
    key: "imageLookupFormat",
    value: "<fmt>",
    field: "image.lookupFormat",
    kind: "string",
    help: "AMI name format of the lookup ({{.BaseOS}}, {{.K8sVersion}} substituted)",
  }),
  def({
    flag: "image-lookup-base-os",
    key: "imageLookupBaseOS",
    value: "<os>",
    field: "image.lookupBaseOS",
    kind: "string",
    help: "base OS of the lookup (default ubuntu-24.04)",
  }),
  def({
    flag: "ssh-key-name",
    key: "sshKeyName",
    value: "<key>",
    field: "sshKeyName",
    kind: "string",
    help: "existing EC2 key pair (default: none)",
  }),
  def({
    flag: "ring",
    key: "ring",
    value: "<ring>",
    field: "rollout.ring",
    kind: "string",
    help: "the ring a change reaches this cluster in, one of capi-gitops.yaml rollout.rings (default: the last)",
  }),
] as const;

type SpecFlag = (typeof SPEC_FLAGS)[number];

/** The spec flags as given on the command line (text; `--pool` repeatable). */
export type NewClusterFlags = { [F in SpecFlag as F["key"]]?: F["kind"] extends "pools" ? string[] : string };

/** The keys of `--pool name=…,instance-type=…`, each with the pool field it sets. */
export const POOL_KEYS = [
  { key: "name", field: "name", kind: "string", example: "<n>" },
  { key: "instance-type", field: "instanceType", kind: "string", example: "<t>" },
  { key: "zones", field: "availabilityZones", kind: "list", example: "<z1+z2>" },
  { key: "min-size", field: "minSize", kind: "integer", example: "<n>" },
  { key: "max-size", field: "maxSize", kind: "integer", example: "<n>" },
  { key: "autoscaling", field: "autoscaling", kind: "boolean", example: "true|false" },
  { key: "replicas", field: "replicas", kind: "integer", example: "<n>" },
  { key: "kubernetes-version", field: "kubernetesVersion", kind: "string", example: "<v>" },
  { key: "labels", field: "labels", kind: "labels", example: "<k:v+k2:v2>" },
  { key: "taints", field: "taints", kind: "taints", example: "<k=v:NoSchedule+k2:NoExecute>" },
  { key: "capacity-type", field: "capacityType", kind: "string", example: "on-demand|spot|mixed" },
  { key: "instance-types", field: "instanceTypes", kind: "list", example: "<t2+t3>" },
  { key: "spot-max-price", field: "spotMaxPrice", kind: "string", example: "<usd>" },
  { key: "on-demand-base", field: "onDemandBase", kind: "integer", example: "<n>" },
  { key: "on-demand-percentage", field: "onDemandPercentageAboveBase", kind: "integer", example: "<0-100>" },
  { key: "spot-allocation-strategy", field: "spotAllocationStrategy", kind: "string", example: "<strategy>" },
] as const satisfies readonly { key: string; field: string; kind: Kind; example: string }[];

/** `name=<n>,instance-type=<t>,…` for the help (two lines). */
export const POOL_SYNTAX = POOL_KEYS.map(
  (k, i) => `${k.key}=${k.example}${i === POOL_KEYS.length - 1 ? "" : i % 5 === 4 ? ",\n" : ","}`,
).join("");

/** An error finding on a flag (its path is the flag, e.g. `--pool min-size`). */
export const flagFinding = (path: string, message: string, rule: RuleId = "flag"): Finding => ({
  path,
  rule,
  severity: "error",
  message,
});
const bad = flagFinding;

function integer(value: string | undefined, flag: string, findings: Finding[]): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim())) {
    findings.push(bad(flag, `must be a whole number, got "${value}"`));
    return undefined;
  }
  return Number(value);
}

/** A flag's or pool key's text → its spec value (undefined when invalid; the finding says why). */
function convert(kind: Exclude<Kind, "pools">, value: string, flag: string, findings: Finding[], sep: string): unknown {
  switch (kind) {
    case "string":
      return value;
    case "integer":
      return integer(value, flag, findings);
    case "boolean":
      if (value !== "true" && value !== "false") findings.push(bad(flag, `must be true or false, got "${value}"`));
      return value === "true";
    case "list":
      return sep === "," ? value.split(",").map((z) => z.trim()) : value.split(sep).filter(Boolean);
    case "labels":
      return Object.fromEntries(
        value
          .split("+")
          .filter(Boolean)
          .map((kv) => {
            const i = kv.indexOf(":");
            return i > 0 ? [kv.slice(0, i), kv.slice(i + 1)] : [kv, ""];
          }),
      );
    case "taints":
      // `key[=value]:Effect`, `+`-separated; empty: no taints (a GPU pool's default taint removed). The spec's
      // schema and checkSpec judge the parts.
      return value
        .split("+")
        .filter(Boolean)
        .map((t) => {
          const colon = t.lastIndexOf(":");
          const kv = colon > 0 ? t.slice(0, colon) : t;
          const eq = kv.indexOf("=");
          const key = eq >= 0 ? kv.slice(0, eq) : kv;
          const v = eq >= 0 ? kv.slice(eq + 1) : undefined;
          if (colon <= 0) findings.push(bad(flag, `taint "${t}" is not key[=value]:Effect`));
          return { key, ...(v === undefined ? {} : { value: v }), effect: colon > 0 ? t.slice(colon + 1) : "" };
        });
  }
}

/** Sets `a.b.c` in obj, creating the objects on the way. */
function setPath(obj: Record<string, unknown>, field: string, value: unknown): void {
  const steps = field.split(".");
  const last = steps.pop() ?? field;
  let at = obj;
  for (const step of steps) {
    const next = at[step];
    if (isRecord(next)) at = next;
    else {
      const made: Record<string, unknown> = {};
      at[step] = made;
      at = made;
    }
  }
  at[last] = value;
}

/**
 * `--pool
 * name=gpu,instance-type=g5.xlarge,zones=a+b,min-size=0,max-size=4,autoscaling=false,replicas=2,labels=k:v+k2:v2`
 */
export function parsePoolFlag(text: string, findings: Finding[]): Record<string, unknown> | undefined {
  const pool: Record<string, unknown> = {};
  for (const part of text.split(",").filter((p) => p.trim() !== "")) {
    const eq = part.indexOf("=");
    const key = eq > 0 ? part.slice(0, eq).trim() : "";
    const value = eq > 0 ? part.slice(eq + 1).trim() : "";
    const k = POOL_KEYS.find((x) => x.key === key);
    if (!k) {
      findings.push(
        bad("--pool", `"${part}" is not key=value with a key of ${POOL_KEYS.map((x) => x.key).join(", ")}`),
      );
      continue;
    }
    pool[k.field] = convert(k.kind, value, `--pool ${k.key}`, findings, "+");
  }
  if (pool.name === undefined) findings.push(bad("--pool", `"${text}" needs name=<pool name>`));
  return pool;
}

/** Flags → the spec input object (only what was given; defaults come from the spec module). */
export function specInputFromFlags(flags: NewClusterFlags): { input: SpecInput; findings: Finding[] } {
  const findings: Finding[] = [];
  const input: SpecInput = { apiVersion: CAPI_GITOPS_API_VERSION, kind: "ClusterSpec" };
  for (const f of SPEC_FLAGS) {
    const value = flags[f.key];
    if (value === undefined) continue;
    if (f.kind === "pools") {
      if (Array.isArray(value) && value.length)
        setPath(
          input,
          f.field,
          value.map((p) => parsePoolFlag(p, findings)),
        );
      continue;
    }
    const v = convert(f.kind, String(value), `--${f.flag}`, findings, ",");
    if (v !== undefined) setPath(input, f.field, v);
  }
  // A fixed image (--image-id, or a format without {{.K8sVersion}}) is stated to hold the cluster's version.
  const { image, kubernetesVersion } = input;
  if (isRecord(image) && !imageFollowsVersion(image))
    image.kubernetesVersion = typeof kubernetesVersion === "string" ? kubernetesVersion : DEFAULTS.kubernetesVersion;
  return { input, findings };
}

/** The flag that sets a spec field (or a field below it), so findings name what the user typed. */
export function flagFor(field?: string): string | undefined {
  if (!field) return undefined;
  const f = SPEC_FLAGS.find((x) => field === x.field || field.startsWith(`${x.field}.`));
  return f && `--${f.flag}`;
}
