/**
 * Machine images and API access of one rendered cluster.
 *
 * Images: a machine with neither `ami.id` nor an own image lookup (imageLookupOrg/Format, on the machine or the
 * AWSCluster) gets CAPA's public lookup (pkg/cloud/services/ec2/ami.go: name `capa-ami-<baseOS>-?<version>-*`,
 * owner 819546954734, baseOS default ubuntu-24.04). CAPA publishes those images only for a few (version, region,
 * OS) triples (schemas/capa-images/inventory.json, from the pinned CAPA module's ami-inventory.md); elsewhere the
 * lookup finds nothing and no instance launches: an error in every profile (`image-published`).
 * A fixed image (an AMI id, or a lookup format without {{.K8sVersion}}) carries no version: the plan states the one
 * the spec gives (IMAGE_VERSION_ANNOTATION), and it must be the version the machines run (`image-version`).
 *
 * API access: with no ingress rule on the control-plane load balancer CAPA opens the API port to 0.0.0.0/0
 * (pkg/cloud/services/securitygroup/securitygroups.go getControlPlaneLBIngressRules): a warning for prod.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Finding } from "../core/findings.js";
import { GROUP, IMAGE_VERSION_ANNOTATION } from "../k8s/capi.js";
import { get, groupOf, isRecord, type K8sObject, list } from "../k8s/object.js";
import { isGroupKind } from "../k8s/kinds.js";
import {
  IMAGE_INVENTORY_FILE,
  type ImageChoice,
  type ImageInventory,
  imageFollowsVersion,
  isPublished,
  noPublicImageMessage,
  publicLookupOs,
} from "../schemas/ami-inventory.js";
import type { RenderedCluster } from "../render/render.js";
import type { RuleId } from "../core/rules.js";
import { defineRule, finding, type Rule } from "./rule.js";
import { objectsOf } from "./read.js";

/** A non-empty string (an empty field is no choice). */
const nonEmpty = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const filled = (o: unknown, path: string): string | undefined => nonEmpty(get(o, path));
/** `cidrBlocks` holds the block (a string holding it counts too, as `includes` reads it). */
const cidrBlocksInclude = (v: unknown, cidr: string): boolean =>
  Array.isArray(v) || typeof v === "string" ? v.includes(cidr) : false;

/** The inventory `npm run schemas` wrote; undefined when absent (the check is then skipped). */
export function readImageInventory(root: string): ImageInventory | undefined {
  const file = path.join(root, IMAGE_INVENTORY_FILE);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as ImageInventory) : undefined;
}

export interface Machine {
  object: K8sObject;
  /** Where the image fields sit in the object. */
  at: string;
  version: string | undefined;
  /** The object that states the version (KubeadmControlPlane, MachineDeployment, MachinePool). */
  owner: K8sObject;
}

/** A machine's image fields as CAPA reads them: its own, else the AWSCluster's lookup defaults. */
export function machineImage(m: Machine, awsCluster: K8sObject | undefined): ImageChoice {
  const spec = get(m.object, m.at);
  return {
    id: filled(spec, "ami.id"),
    lookupOrg: filled(spec, "imageLookupOrg") ?? filled(awsCluster, "spec.imageLookupOrg"),
    lookupFormat: filled(spec, "imageLookupFormat") ?? filled(awsCluster, "spec.imageLookupFormat"),
    lookupBaseOS: filled(spec, "imageLookupBaseOS") ?? filled(awsCluster, "spec.imageLookupBaseOS"),
  };
}

/** Each machine-defining object with the Kubernetes version its machines run. */
export function machines(objs: readonly K8sObject[]): Machine[] {
  const byName = (kind: string, name: unknown) =>
    objs.find((o) => isGroupKind(o, GROUP.infra, kind) && o.metadata?.name === name);
  const out: Machine[] = [];
  for (const o of objs) {
    if (isGroupKind(o, GROUP.controlPlane, "KubeadmControlPlane")) {
      const t = byName("AWSMachineTemplate", get(o, "spec.machineTemplate.spec.infrastructureRef.name"));
      if (t) out.push({ object: t, at: "spec.template.spec", version: filled(o, "spec.version"), owner: o });
    } else if (isGroupKind(o, GROUP.core, "MachineDeployment")) {
      const t = byName("AWSMachineTemplate", get(o, "spec.template.spec.infrastructureRef.name"));
      if (t && !out.some((m) => m.object === t))
        out.push({ object: t, at: "spec.template.spec", version: filled(o, "spec.template.spec.version"), owner: o });
    } else if (isGroupKind(o, GROUP.core, "MachinePool")) {
      const p = byName("AWSMachinePool", get(o, "spec.template.spec.infrastructureRef.name"));
      if (p)
        out.push({
          object: p,
          at: "spec.awsLaunchTemplate",
          version: filled(o, "spec.template.spec.version"),
          owner: o,
        });
    }
  }
  return out;
}

/** What the image rules of one cluster read, and how they report (a field of `o`, or of the AWSCluster). */
interface ImageCheck {
  readonly cluster: string;
  readonly awsCluster: K8sObject;
  readonly machines: readonly Machine[];
  readonly inventory: ImageInventory | undefined;
  readonly profile: string | undefined;
  readonly report: (o: K8sObject, path: string, message: string) => void;
}

/** A fixed image states the version it holds, and that is the version its machines run. */
const imageVersion = defineRule<ImageCheck>("image-version", ({ cluster, awsCluster, machines, report }) => {
  for (const m of machines) {
    const image = machineImage(m, awsCluster);
    if (imageFollowsVersion(image)) continue;
    // A fixed image: its kubelet is the version the spec states, which must be the one the machines run.
    const annotations = m.object.metadata?.annotations;
    const stated = isRecord(annotations) ? nonEmpty(annotations[IMAGE_VERSION_ANNOTATION]) : undefined;
    const what = image.id
      ? `AMI ${image.id}`
      : `the lookup format ${JSON.stringify(image.lookupFormat)} (no {{.K8sVersion}})`;
    const owner = `${m.owner.kind} ${String(m.owner.metadata?.name)}`;
    if (!stated)
      report(
        m.object,
        m.at,
        `${what} is one image whatever the Kubernetes version, and nothing says which version it holds ` +
          `(${owner} runs ${m.version ?? "?"}); set it in cluster.yaml (image.id with image.kubernetesVersion) ` +
          "instead of a patch",
      );
    else if (m.version && stated !== m.version)
      report(
        m.object,
        m.at,
        `${what} holds Kubernetes ${stated}, but ${owner} runs ${m.version}: its machines would boot a ` +
          `${stated} kubelet. Give it an image built for ${m.version} ` +
          `(\`npm run upgrade -- --name ${cluster} --image-id <ami-…>\`), or the version the image holds`,
      );
  }
});

/** CAPA's public lookup finds an image for every machine that uses it. */
const imagePublished = defineRule<ImageCheck>("image-published", ({ awsCluster, machines, inventory, report }) => {
  const region = filled(awsCluster, "spec.region");
  if (!inventory || !region) return;
  for (const m of machines) {
    const image = machineImage(m, awsCluster);
    if (!imageFollowsVersion(image)) continue;
    const os = publicLookupOs(image, inventory);
    if (!os || !m.version || isPublished(inventory, m.version, region, os)) continue;
    report(m.object, m.at, noPublicImageMessage(inventory, m.version, region, os));
  }
});

/** A prod cluster's internet-facing API server is not open to everyone. */
const apiOpenToWorld = defineRule<ImageCheck>("api-open-to-world", ({ awsCluster, profile, report }) => {
  if (profile !== "prod") return;
  const lb = get(awsCluster, "spec.controlPlaneLoadBalancer");
  const scheme = filled(lb, "scheme") ?? "internet-facing";
  const rules = list(get(lb, "ingressRules"));
  const open = rules.length === 0 || rules.some((r) => cidrBlocksInclude(get(r, "cidrBlocks"), "0.0.0.0/0"));
  if (scheme === "internet-facing" && open)
    report(
      awsCluster,
      "spec.controlPlaneLoadBalancer",
      "the API server of this prod cluster is reachable from 0.0.0.0/0 (CAPA opens port 6443 to everyone when no " +
        "ingress rule is set); set apiServer.allowedCidrs (include the management cluster's egress) or " +
        "apiServer.scheme: internal",
    );
});

/** The rules of this file, each a check of its own. */
export const IMAGE_RULES: readonly Rule<RuleId, ImageCheck>[] = [imageVersion, imagePublished, apiOpenToWorld];

export function imageRules(
  rc: RenderedCluster,
  inventory: ImageInventory | undefined,
  profile: string | undefined,
  file: string,
): Finding[] {
  const objs = objectsOf(rc.objects);
  const awsCluster = objs.find((o) => o.kind === "AWSCluster" && groupOf(o.apiVersion) === GROUP.infra);
  if (!awsCluster) return [];
  const findings: Finding[] = [];
  const facts = { cluster: rc.cluster, awsCluster, machines: machines(objs), inventory, profile };
  for (const rule of IMAGE_RULES)
    rule.check({
      ...facts,
      report: (o, p, message) => {
        const i = rc.objects.indexOf(o);
        const where = {
          cluster: rc.cluster,
          file: rc.origins[i] ?? file,
          path: `${o.kind}/${String(o.metadata?.name)}:${p}`,
        };
        findings.push(finding(rule.id, where, message));
      },
    });
  return findings;
}
