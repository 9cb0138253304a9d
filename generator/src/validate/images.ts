/**
 * Machine images and API access of one rendered cluster.
 *
 * Images: a machine with neither `ami.id` nor an own image lookup (imageLookupOrg/Format, on the machine or the
 * AWSCluster) gets CAPA's public lookup (pkg/cloud/services/ec2/ami.go: name `capa-ami-<baseOS>-?<version>-*`,
 * owner 819546954734, baseOS default ubuntu-24.04). CAPA publishes those images only for a few (version, region,
 * OS) triples (schemas/capa-images/inventory.json, from the pinned CAPA module's ami-inventory.md); elsewhere the
 * lookup finds nothing and no instance launches. An error for the prod profile, a warning otherwise.
 *
 * API access: with no ingress rule on the control-plane load balancer CAPA opens the API port to 0.0.0.0/0
 * (pkg/cloud/services/securitygroup/securitygroups.go getControlPlaneLBIngressRules): a warning for prod.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Finding, Severity } from "../findings.js";
import { GROUP } from "../k8s/capi.js";
import { get as getPath, groupOf, isRecord } from "../k8s/object.js";
import { IMAGE_INVENTORY_FILE, type ImageInventory, isPublished, publicLookupOs, publishedRegions, publishedVersions } from "../schemas/ami-inventory.js";
import type { RenderedCluster, RenderedObject } from "./render.js";

const get = (o: unknown, p: string): any => getPath(o, p);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** The inventory `npm run schemas` wrote; undefined when absent (the check is then skipped). */
export function readImageInventory(root: string): ImageInventory | undefined {
  const file = path.join(root, IMAGE_INVENTORY_FILE);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as ImageInventory) : undefined;
}

interface Machine {
  object: RenderedObject;
  /** Where the image fields sit in the object. */
  at: string;
  version: string | undefined;
}

/** Each machine-defining object with the Kubernetes version its machines run. */
function machines(objs: RenderedObject[]): Machine[] {
  const is = (o: RenderedObject, g: string, kind: string) => o.kind === kind && groupOf(o.apiVersion) === g;
  const byName = (kind: string, name: unknown) => objs.find((o) => is(o, GROUP.infra, kind) && o.metadata?.name === name);
  const out: Machine[] = [];
  for (const o of objs) {
    if (is(o, GROUP.controlPlane, "KubeadmControlPlane")) {
      const t = byName("AWSMachineTemplate", get(o, "spec.machineTemplate.spec.infrastructureRef.name"));
      if (t) out.push({ object: t, at: "spec.template.spec", version: str(get(o, "spec.version")) });
    } else if (is(o, GROUP.core, "MachineDeployment")) {
      const t = byName("AWSMachineTemplate", get(o, "spec.template.spec.infrastructureRef.name"));
      if (t && !out.some((m) => m.object === t)) out.push({ object: t, at: "spec.template.spec", version: str(get(o, "spec.template.spec.version")) });
    } else if (is(o, GROUP.core, "MachinePool")) {
      const p = byName("AWSMachinePool", get(o, "spec.template.spec.infrastructureRef.name"));
      if (p) out.push({ object: p, at: "spec.awsLaunchTemplate", version: str(get(o, "spec.template.spec.version")) });
    }
  }
  return out;
}

export function imageRules(rc: RenderedCluster, inventory: ImageInventory | undefined, profile: string | undefined, file: string): Finding[] {
  const objs = rc.objects.filter((o): o is RenderedObject => isRecord(o));
  const awsCluster = objs.find((o) => o.kind === "AWSCluster" && groupOf(o.apiVersion) === GROUP.infra);
  if (!awsCluster) return [];
  const findings: Finding[] = [];
  const severity: Severity = profile === "prod" ? "error" : "warning";
  const push = (o: RenderedObject, p: string, rule: string, message: string, sev: Severity) => {
    const i = rc.objects.indexOf(o);
    findings.push({ cluster: rc.cluster, file: rc.origins[i] ?? file, path: `${o.kind}/${String(o.metadata?.name)}:${p}`, rule, severity: sev, message });
  };

  const region = str(get(awsCluster, "spec.region"));
  if (inventory && region)
    for (const m of machines(objs)) {
      const spec = get(m.object, m.at);
      const os = publicLookupOs(
        {
          id: str(get(spec, "ami.id")),
          lookupOrg: str(get(spec, "imageLookupOrg")) ?? str(get(awsCluster, "spec.imageLookupOrg")),
          lookupFormat: str(get(spec, "imageLookupFormat")) ?? str(get(awsCluster, "spec.imageLookupFormat")),
          lookupBaseOS: str(get(spec, "imageLookupBaseOS")) ?? str(get(awsCluster, "spec.imageLookupBaseOS")),
        },
        inventory,
      );
      if (!os || !m.version || isPublished(inventory, m.version, region, os)) continue;
      const here = publishedVersions(inventory, region, os);
      const elsewhere = publishedRegions(inventory, m.version, os);
      push(
        m.object,
        m.at,
        "image-published",
        `no image: CAPA's public lookup (capa-ami-${os}-?${m.version}-*) finds no published image for Kubernetes ${m.version} in ${region} (${inventory.source} ami-inventory.md); ` +
          `published ${os} versions in ${region}: ${here.length ? here.join(", ") : "none"}` +
          (elsewhere.length ? `; ${m.version} is published in ${elsewhere.join(", ")}` : "") +
          ". Set `image.id` (an AMI in this region) or `image.lookupOrg`/`lookupFormat`/`lookupBaseOS` for your own image-builder images in cluster.yaml " +
          "(new-cluster: --image-id, or --image-lookup-org/--image-lookup-format/--image-lookup-base-os), or pick a published version (--kubernetes-version, --region).",
        severity,
      );
    }

  if (profile === "prod") {
    const lb = get(awsCluster, "spec.controlPlaneLoadBalancer");
    const scheme = str(get(lb, "scheme")) ?? "internet-facing";
    const rules: unknown[] = Array.isArray(get(lb, "ingressRules")) ? get(lb, "ingressRules") : [];
    const open = rules.length === 0 || rules.some((r) => (get(r, "cidrBlocks") ?? []).includes?.("0.0.0.0/0"));
    if (scheme === "internet-facing" && open)
      push(
        awsCluster,
        "spec.controlPlaneLoadBalancer",
        "api-open-to-world",
        "the API server of this prod cluster is reachable from 0.0.0.0/0 (CAPA opens port 6443 to everyone when no ingress rule is set); set apiServer.allowedCidrs (include the management cluster's egress) or apiServer.scheme: internal",
        "warning",
      );
  }
  return findings;
}
