/** The pinned upstream versions, read from the one file that holds them: versions.json at the repository root. */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { MANAGEMENT_CHART_DIRS } from "../core/layout.js";

export interface GoTool {
  module: string;
  version: string;
}
export interface CrdSource {
  module: string;
  version: string;
  /** Folders inside the module that hold CRD YAML files. */
  dirs?: string[];
  /** Single files inside the module (for modules whose CRDs are not in a folder of their own). */
  files?: string[];
}
/** Upstream OpenAPI v3 documents (e.g. k8s.io/kubernetes api/openapi-spec/v3/*.json) for built-in kinds. */
export interface OpenApiSource {
  module: string;
  version: string;
  /** OpenAPI v3 JSON documents inside the module. */
  files: string[];
  /** The kinds to make schemas for, as apiVersion/Kind: "v1/Namespace", "apps/v1/Deployment". */
  kinds: string[];
}
/** An image released per Kubernetes minor (the cluster-autoscaler): the tag to run for each "1.<minor>". */
export interface ImageByMinor {
  image: string;
  byMinor: Record<string, string>;
}
/** A Helm chart inside a pinned Go module (`go mod download` → Dir/chart). */
export interface ChartSource {
  module: string;
  version: string;
  chart: string;
}
/** The add-ons `npm run addons` hydrates (versions.json "addons"). */
export interface AddonPins {
  cilium: ChartSource;
  /** Calico's release manifest (`file`) inside a pinned module version; `release` is the Calico release it is. */
  calico: { module: string; version: string; release: string; file: string; kubernetes: { min: string; max: string } };
  /**
   * The CCM: the chart of one k8s.io/cloud-provider-aws module version (`version`, `chart`), rendered once per
   * Kubernetes minor with that minor's image tag (`image`:`byMinor["1.34"]`).
   */
  cloudControllerManager: ChartSource & { image: string; byMinor: Record<string, string> };
  /**
   * The EBS CSI driver manifests: a ConfigMap inside a file of a pinned module; with the VolumeSnapshot CRDs
   * (`crdModule`/`crdDir`) and the snapshot-controller (`module`/`dir`), kustomize-built from external-snapshotter.
   */
  ebsCsi: {
    module: string;
    version: string;
    file: string;
    configMap: string;
    snapshotter: { module: string; version: string; dir: string; crdModule: string; crdDir: string };
  };
  /** NVIDIA's device plugin DaemonSet manifest (`file`) inside a pinned module version; clusters with a GPU pool. */
  nvidiaDevicePlugin: { module: string; version: string; file: string };
  /** Every container image of each add-on's payload but the CCM's (whose image is `cloudControllerManager`). */
  images: Record<string, string[]>;
}
/** addons.lock.json (plan/addons-lock.ts): the sha256 of the pins and of every addons/ file `npm run addons` wrote. */
export interface AddonLock {
  $comment?: string;
  pins: string;
  /** `addons/<addon>/<version>/<file>` → sha256 (hex). */
  files: Record<string, string>;
}
/** The management cluster's own layer (versions.json "management"), hydrated by `npm run management-charts`. */
export interface ManagementPins {
  /** cert-manager's chart inside its Go module (rendered into cluster-spec/reserved.ts CERT_MANAGER_NAMESPACE). */
  certManager: ChartSource;
  /**
   * The cluster-api-operator's chart: `chart` plus `kustomize build <components>` (the module's release-chart target),
   * from the module and version of versions.json crds[`crds`]; the manager image is `image`:<that version>.
   */
  clusterApiOperator: { crds: string; chart: string; components: string; image: string };
  /** The management cluster's Kubernetes version the charts are rendered for. */
  kubeVersion: string;
}
export interface Versions {
  tools: Record<string, GoTool>;
  crds: Record<string, CrdSource>;
  /** Built-in Kubernetes kinds; its ObjectMeta also types the metadata of every CRD schema. */
  openapi?: Record<string, OpenApiSource>;
  /** The admission program's go.mod and the crds entries whose modules it requires at the same versions. */
  admission?: { goMod: string; pins: string[] };
  /** The cluster-autoscaler image for each Kubernetes minor (plan/autoscaler.ts). */
  clusterAutoscaler: ImageByMinor;
  addons: AddonPins;
  management?: ManagementPins;
  /**
   * The management cluster of `npm run e2e`: etcd and kube-apiserver, built from these modules
   * (tools/control-plane.ts).
   */
  e2e?: { etcd: GoTool; "kube-apiserver": GoTool };
  /**
   * The hydrated add-ons (`npm run addons` writes them into this checkout's addons/): repository path → content.
   * Not in versions.json: read from ADDONS_STORE with it, so the plan gets them as an input like the pins.
   */
  addonPayloads?: Record<string, string>;
  /** addons.lock.json of this checkout (undefined: missing or unreadable), read with the payloads. */
  addonLock?: AddonLock;
  /**
   * The hydrated management charts (`npm run management-charts` writes them into this checkout's
   * MANAGEMENT_CHART_DIRS).
   */
  managementPayloads?: Record<string, string>;
}

/** Root of this tool's own checkout (where versions.json and .tools/ live). */
export const TOOL_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/**
 * What the plan needs of the pins: the CRD modules' versions (the providers run those releases), the autoscaler
 * images, the add-ons.
 */
export type Pins = Pick<Versions, "crds" | "clusterAutoscaler" | "addons" | "addonPayloads" | "managementPayloads">;

/**
 * Where `npm run addons` stores the hydrated add-ons: this checkout's addons/ (generate copies them into a
 * repository).
 */
export const ADDONS_STORE = path.join(TOOL_ROOT, "addons");

/** Every file under `dir` as `<prefix>/<relative path>` → content (none when it does not exist). */
function readStore(dir: string, prefix: string): Record<string, string> {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, encoding: "utf8" });
  } catch {
    return {};
  }
  const out: Record<string, string> = {};
  for (const n of names.sort()) {
    const full = path.join(dir, n);
    try {
      out[`${prefix}/${n.split(path.sep).join("/")}`] = readFileSync(full, "utf8");
    } catch {
      // a folder
    }
  }
  return out;
}
/** Every file under `dir` (default ADDONS_STORE) as `addons/<relative path>` → content (none when it is absent). */
export const readAddonPayloads = (dir = ADDONS_STORE): Record<string, string> => readStore(dir, "addons");
const readManagementPayloads = (root: string): Record<string, string> =>
  Object.fromEntries(MANAGEMENT_CHART_DIRS.flatMap((rel) => Object.entries(readStore(path.join(root, rel), rel))));

/** Where `npm run addons` writes the lock of ADDONS_STORE (plan/addons-lock.ts ADDONS_LOCK_FILE). */
export const ADDONS_LOCK = path.join(TOOL_ROOT, "addons.lock.json");

/** The lock, when it exists and has the lock's shape. */
export function readAddonLock(file = ADDONS_LOCK): AddonLock | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
    if (typeof parsed !== "object" || parsed === null || !("pins" in parsed) || !("files" in parsed)) return undefined;
    if (typeof parsed.pins !== "string" || typeof parsed.files !== "object" || parsed.files === null) return undefined;
    const files = Object.fromEntries(
      Object.entries(parsed.files).filter((e): e is [string, string] => typeof e[1] === "string"),
    );
    return { pins: parsed.pins, files };
  } catch {
    return undefined;
  }
}

/** What versions.json says, without the hydrated payloads. */
export type PinnedVersions = Omit<Versions, "addonPayloads" | "addonLock" | "managementPayloads">;

const pinnedOf = new Map<string, PinnedVersions>();
/** versions.json of the tool checkout at `root` (read once per root): cheap, no payloads. */
export function pinnedVersions(root: string = TOOL_ROOT): PinnedVersions {
  let pins = pinnedOf.get(root);
  if (!pins) {
    // The tool's own checked-in file, kept in shape by its tests.
    pins = JSON.parse(readFileSync(path.join(root, "versions.json"), "utf8")) as PinnedVersions;
    pinnedOf.set(root, pins);
  }
  return pins;
}

const versionsOf = new Map<string, Versions>();
/**
 * The pins and the hydrated payloads of the tool checkout at `root` (every add-on and management chart file: read
 * once per root, when first asked — never at import time).
 */
export function versions(root: string = TOOL_ROOT): Versions {
  let v = versionsOf.get(root);
  if (!v) {
    v = {
      ...pinnedVersions(root),
      addonPayloads: readAddonPayloads(path.join(root, "addons")),
      addonLock: readAddonLock(path.join(root, "addons.lock.json")),
      managementPayloads: readManagementPayloads(root),
    };
    versionsOf.set(root, v);
  }
  return v;
}
