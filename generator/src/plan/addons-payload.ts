/**
 * Pure part of `npm run addons`: the rendered charts and the pinned CAPA template in, the addons/ files out.
 * Every document is parsed and serialized once (fixed key order, no helm comments); no Secret may reach Git.
 */
import { PlanError } from "../core/errors.js";
import { get, isRecord, type K8sObject } from "../k8s/object.js";
import { parseKeptYamlStream, parseYamlStream, toYaml } from "../core/yaml.js";
import type { AddonPins } from "../pins/versions.js";
import { type Addon, addonFiles, type AddonPart, addonParts, allAddons } from "./addons.js";
import type { OutputFile } from "./files.js";
import type { Finding } from "../core/findings.js";
import { addonDir } from "../core/layout.js";

export interface RawSources {
  /** helm template output per "<addon>/<version>". */
  rendered: Record<string, string>;
  /** The pinned CAPA templates/cluster-template.yaml (holds the EBS CSI ConfigMap). */
  ebsCsiTemplate: string;
  /** `kustomize build` of external-snapshotter's VolumeSnapshot CRDs and of its snapshot-controller. */
  snapshotCrds: string;
  snapshotController: string;
}

/**
 * A ConfigMap holds at most 1 MiB (k8s.io/kubernetes pkg/apis/core/validation ValidateConfigMap, MaxSecretSize);
 * client-side apply (Argo CD's default) also stores the object in an annotation, and annotations total at most
 * 256 KiB (apimachinery TotalAnnotationSizeLimitB): stay below that.
 */
const MAX_PAYLOAD_BYTES = 250_000;

/** The default StorageClass shipped with the EBS CSI driver. */
const GP3_STORAGE_CLASS: K8sObject = {
  apiVersion: "storage.k8s.io/v1",
  kind: "StorageClass",
  metadata: { name: "gp3", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
  provisioner: "ebs.csi.aws.com",
  parameters: { type: "gp3", encrypted: "true" },
  reclaimPolicy: "Delete",
  volumeBindingMode: "WaitForFirstConsumer",
  allowVolumeExpansion: true,
};

/** A document of a rendered chart or manifest: a mapping with a kind (the rest is passed through as written). */
type Manifest = Record<string, unknown> & { kind: string };

const isManifest = (d: unknown): d is Manifest => isRecord(d) && typeof d.kind === "string";
const stream = (objects: Manifest[]): string => objects.map((o) => toYaml(o)).join("---\n");

function objectsOf(text: string, what: string, opts: { dropSecrets?: boolean } = {}): Manifest[] {
  const objects = parseYamlStream(text).filter(isManifest);
  const secrets = objects.filter((o) => o.kind === "Secret");
  if (secrets.length && !opts.dropSecrets)
    throw new PlanError(
      `${what} renders Secret(s) ${secrets.map((s) => get(s, "metadata.name")).join(", ")}: ` +
        "no Secret data may be stored in Git (change its values)",
    );
  return objects.filter((o) => o.kind !== "Secret");
}

/**
 * The EBS CSI manifests: the data of CAPA's ConfigMap, without its empty Secret (the driver's env refs to it are
 * optional).
 */
function ebsCsiObjects(template: string, configMap: string): Manifest[] {
  const data = parseYamlStream(template)
    .filter(isManifest)
    .find((o) => o.kind === "ConfigMap" && get(o, "metadata.name") === configMap)?.data;
  if (!isRecord(data)) throw new PlanError(`the pinned CAPA template has no ConfigMap ${configMap}`);
  return Object.entries(data)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([k, text]) => {
      if (typeof text !== "string") throw new PlanError(`CAPA ConfigMap ${configMap}: data.${k} is no text`);
      return objectsOf(text, `CAPA ConfigMap ${configMap}`, { dropSecrets: true });
    });
}

function objectsOfAddon(a: Addon, pins: AddonPins, raw: RawSources): Manifest[] {
  const key = `${a.name}/${a.version}`;
  if (a.role === "csi")
    return [
      ...ebsCsiObjects(raw.ebsCsiTemplate, pins.ebsCsi.configMap),
      GP3_STORAGE_CLASS,
      ...objectsOf(raw.snapshotCrds, `${pins.ebsCsi.snapshotter.crdModule} ${pins.ebsCsi.snapshotter.crdDir}`),
      ...objectsOf(raw.snapshotController, `${pins.ebsCsi.snapshotter.module} ${pins.ebsCsi.snapshotter.dir}`),
    ];
  const rendered = raw.rendered[key];
  if (rendered === undefined) throw new PlanError(`no rendered manifests for ${key}`);
  const objects = objectsOf(rendered, key);
  if (a.name === "calico")
    checkReleaseImages(
      objects,
      pins.calico.release,
      `${pins.calico.module}@${pins.calico.version} ${pins.calico.file}`,
    );
  return objects;
}

/**
 * Every container image (init, regular and ephemeral containers) of the pods among these objects — a Pod's own spec,
 * a workload's pod template, a CronJob's job template — in document order.
 */
/** A container's image as written ("" when it has none). */
const imageOf = (image: unknown): string => {
  const written = String(image);
  return image === undefined || image === null ? "" : written;
};

export function containerImages(objects: readonly unknown[]): string[] {
  return objects.flatMap((o) => {
    const spec = get(o, "spec");
    const pods = [
      get(o, "kind") === "Pod" ? spec : undefined,
      get(spec, "template.spec"),
      get(spec, "jobTemplate.spec.template.spec"),
    ];
    return pods.flatMap((pod) =>
      ["initContainers", "containers", "ephemeralContainers"].flatMap((k) => {
        const list = get(pod, k);
        return Array.isArray(list) ? list.map((c) => imageOf(get(c, "image"))) : [];
      }),
    );
  });
}

/** The images an add-on's payload may run: the CCM's from its per-minor pin, the others listed in versions.json. */
export function pinnedImages(a: Addon, pins: AddonPins): string[] {
  if (a.role === "ccm") return [`${pins.cloudControllerManager.image}:${a.version}`];
  return pins.images[a.name] ?? [];
}

/**
 * Pinned: a tag other than `latest`, or a digest (`@sha256:` + 64 hex). A registry host with a port
 * (`host:5000/x`) is not a tag: the tag is after the last `/`.
 */
export function isPinnedImage(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  if (image.includes("@")) return false;
  const tag = /:([\w][\w.-]{0,127})$/.exec(image.slice(image.lastIndexOf("/") + 1))?.[1];
  return tag !== undefined && tag !== "latest";
}

/**
 * What is wrong with an add-on's images (`found`) against the pins (versions.json addons.images, the CCM's image and
 * byMinor): an image not listed, a listed one pinned by neither tag nor digest, and with `complete` (every payload of
 * the add-on) a listed image the manifests lack. `npm run addons` refuses them, validate reports them on the hydrated
 * payloads (payloadImageFindings): the lock alone is no proof, it is written beside the payloads.
 */
function imageProblems(a: Addon, found: readonly string[], pins: AddonPins, complete: boolean): string[] {
  const have = [...new Set(found)].sort();
  const want = [...new Set(pinnedImages(a, pins))].sort();
  const unlisted = have.filter((i) => !want.includes(i));
  const unused = complete ? want.filter((i) => !have.includes(i)) : [];
  const loose = [...new Set([...want, ...have])].filter((i) => !isPinnedImage(i)).sort();
  const what =
    a.role === "ccm"
      ? "versions.json addons.cloudControllerManager (image and byMinor)"
      : `versions.json addons.images.${a.name}`;
  return [
    unlisted.length ? `images ${unlisted.join(", ")} are not listed in ${what}` : "",
    unused.length ? `listed images ${unused.join(", ")} are not in the manifests` : "",
    loose.length ? `images ${loose.join(", ")} are pinned by neither tag nor digest` : "",
  ].filter(Boolean);
}

/** The payload's images are exactly the pinned ones (versions.json), each pinned by tag or digest. */
function checkPinnedImages(a: Addon, objects: Manifest[], pins: AddonPins): void {
  const problems = imageProblems(a, containerImages(objects), pins, true);
  if (problems.length) throw new PlanError(`${a.name} ${a.version}: ${problems.join("; ")}`);
}

/**
 * Every image of every hydrated payload (`payloads`: `addons/…` path → the path findings name and its content)
 * against the pins; a payload of no pinned add-on version, or one that does not parse, is an error too.
 */
export function payloadImageFindings(
  payloads: Readonly<Record<string, { file: string; content: string }>>,
  pins: AddonPins,
  whose: string,
): Finding[] {
  const byDir = allAddons(pins).map((a) => [`${addonDir(a.name, a.version)}/`, a] as const);
  const findings: Finding[] = [];
  const how =
    "addons/ is written only by `npm run addons` from the pins in versions.json: restore it from Git or " +
    "re-run `npm run addons`";
  for (const [key, { file, content }] of Object.entries(payloads).sort(([x], [y]) => (x < y ? -1 : 1))) {
    if (key.endsWith("/kustomization.yaml")) continue;
    const a = byDir.find(([dir]) => key.startsWith(dir))?.[1];
    const error = (message: string): Finding => ({
      file,
      rule: "addons-images",
      severity: "error",
      message: `${whose} copy: ${message}; ${how}`,
    });
    if (!a) {
      findings.push(error("belongs to no add-on version versions.json pins"));
      continue;
    }
    let objects: unknown[];
    try {
      objects = parseKeptYamlStream(content);
    } catch (e) {
      findings.push(error(`does not parse as YAML (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`));
      continue;
    }
    for (const p of imageProblems(a, containerImages(objects), pins, false)) findings.push(error(p));
  }
  return findings;
}

/** A release manifest taken from a module commit: every container image must carry the release the pin names. */
function checkReleaseImages(objects: Manifest[], release: string, what: string): void {
  const images = containerImages(objects);
  const other = [...new Set(images.filter((i) => !i.endsWith(`:${release}`)))];
  if (!images.length || other.length)
    throw new PlanError(`${what}: images ${other.join(", ") || "(none)"} are not at the pinned release ${release}`);
}

/** The add-on's manifests per part (addonParts): its CRDs in a part of their own when it declares one. */
function payloadsOf(a: Addon, pins: AddonPins, raw: RawSources): Record<AddonPart["holds"], string> {
  const objects = objectsOfAddon(a, pins, raw);
  const isCrd = (o: Manifest) => o.kind === "CustomResourceDefinition";
  const crds = objects.filter(isCrd);
  if (!a.crds && crds.length)
    throw new PlanError(
      `${a.name} ${a.version} ships CustomResourceDefinitions: declare crds on the add-on (plan/addons.ts)`,
    );
  if (a.crds && !crds.length) throw new PlanError(`${a.name} ${a.version} declares CRDs but its manifests have none`);
  checkPinnedImages(a, objects, pins);
  return { crds: stream(crds), rest: stream(a.crds ? objects.filter((o) => !isCrd(o)) : objects) };
}

/**
 * The value paths we set that the chart neither has in values.yaml nor reads in its templates (`.Values.<path>`):
 * helm checks values against values.schema.json (Cilium ships one), but that schema allows unknown keys, so a
 * misspelt key would be ignored silently.
 */
export function unknownValuePaths(defaults: unknown, values: unknown, templates = "", prefix = ""): string[] {
  if (typeof values !== "object" || values === null || Array.isArray(values)) return [];
  return Object.entries(values).flatMap(([k, v]) => {
    const here = prefix ? `${prefix}.${k}` : k;
    const d: unknown = typeof defaults === "object" && defaults !== null ? Reflect.get(defaults, k) : undefined;
    if (d === undefined) return templates.includes(`.Values.${here}`) ? [] : [here];
    return typeof d === "object" && d !== null && !Array.isArray(d) ? unknownValuePaths(d, v, templates, here) : [];
  });
}

/** Every addons/ file: per add-on version its manifests file and its kustomization. */
export function hydrate(pins: AddonPins, raw: RawSources): OutputFile[] {
  return allAddons(pins).flatMap((a) => {
    const payloads = payloadsOf(a, pins, raw);
    for (const part of addonParts(a)) {
      const bytes = Buffer.byteLength(payloads[part.holds]);
      if (bytes > MAX_PAYLOAD_BYTES)
        throw new PlanError(
          `${a.name} ${a.version} ${part.file}: ${bytes} bytes, over the ${MAX_PAYLOAD_BYTES}-byte ConfigMap budget`,
        );
    }
    return addonFiles(a, payloads);
  });
}
