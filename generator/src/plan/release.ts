/**
 * Releases through the rollout rings, pure: what every cluster reads (base/, the overlays) reaches a ring's clusters
 * only through that ring's release, releases/<ring>/ — a copy of the shared folders as they were when released to
 * it. `generate` writes base/ and the overlays as the generator makes them now (the candidate) and leaves every
 * release as Git holds it; `npm run release -- --ring <ring>` copies the candidate into the first ring, or the
 * previous ring's release into a later one, so a change moves one ring at a time and in the declared order.
 * The clusters of a ring name their templates from the ring's released objects, so an unreleased base change does
 * not rename (and so roll out) any template either.
 */
import { createHash } from "node:crypto";
import stableStringify from "fast-json-stable-stringify";
import { RELEASE_RECORD, releaseDir } from "../core/layout.js";
import type { Finding } from "../core/findings.js";
import { parseYamlStream } from "../core/yaml.js";
import { isK8sObject, type K8sObject } from "../k8s/object.js";
import { SYNC_SAFE } from "../core/vocabulary.js";
import { BASE_DIRS, BASE_OBJECTS, planBase, planOverlays } from "./base.js";
import { type OutputFile, owned } from "./files.js";

/** One ring's release as Git holds it. */
export interface RingRelease {
  /** 1 for the first candidate released to the first ring, one more for each later one; a later ring inherits it. */
  number: number;
  /** The released shared files by their path in the shared folders (base/…, overlays/…) → content. */
  files: Readonly<Record<string, string>>;
  /**
   * The record's text as Git holds it: kept as it is, so `generate` never makes a hand-edited release look released
   * (validate's release-integrity names it); null for one Git holds without a record (none is made up for it).
   * Absent for a release this run makes.
   */
  record?: string | null;
}

/** What repo/load.ts read under releases/<ring>/: the record's text (when there is one) and the files beside it. */
export interface LoadedRelease {
  record?: string;
  files: Readonly<Record<string, string>>;
}

/** The shared files as the generator makes them now: what the next release to the first ring holds. */
export function candidateFiles(): Record<string, string> {
  return Object.fromEntries([...planBase(), ...planOverlays()].map((f) => [f.path, f.content]));
}

/** The digest of a release's files (order-free), recorded in its release.json. */
export function releaseDigest(files: Readonly<Record<string, string>>): string {
  return `sha256:${createHash("sha256").update(stableStringify(files)).digest("hex")}`;
}

/** Where a shared path is in a ring's release: base/cluster → releases/<ring>/base/cluster. */
export const releasedPath = (ring: string, shared: string): string => `${releaseDir(ring)}/${shared}`;

/** releases/<ring>/: the released files and the record (number, digest), owned by the plan. */
export function planReleaseFiles(ring: string, release: RingRelease): OutputFile[] {
  const record = { release: release.number, digest: releaseDigest(release.files) };
  return [
    ...Object.entries(release.files).map(([p, content]) => owned(releasedPath(ring, p), content)),
    ...(release.record === null
      ? []
      : [owned(`${releaseDir(ring)}/${RELEASE_RECORD}`, release.record ?? `${JSON.stringify(record, null, 2)}\n`)]),
  ];
}

/** A record's number and digest, when its text is one ({"release": n ≥ 1, "digest": …}); undefined otherwise. */
function recordOf(text: string | undefined): { release: number; digest: string } | undefined {
  let record: unknown;
  try {
    record = text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
  if (record === null || typeof record !== "object") return undefined;
  const release: unknown = Reflect.get(record, "release");
  const digest: unknown = Reflect.get(record, "digest");
  return typeof release === "number" && Number.isInteger(release) && release >= 1 && typeof digest === "string"
    ? { release, digest }
    : undefined;
}

/**
 * Every declared ring's release (in ring order): as Git holds it, or — for a ring without one (a new repository, a
 * ring just declared) — the previous ring's, and the candidate for the first ring. A ring whose record does not
 * read keeps its files (validate's release-integrity names it).
 */
export function ringReleases(
  rings: readonly string[],
  loaded: Readonly<Record<string, LoadedRelease>>,
): Record<string, RingRelease> {
  const out: Record<string, RingRelease> = {};
  let previous: RingRelease = { number: 1, files: candidateFiles() };
  for (const ring of rings) {
    const l = loaded[ring];
    const release = l
      ? { number: recordOf(l.record)?.release ?? previous.number, files: l.files, record: l.record ?? null }
      : { number: previous.number, files: previous.files };
    out[ring] = release;
    previous = release;
  }
  return out;
}

/** The objects a cluster's own overlay derives names and arguments from: the base it builds from. */
export interface BaseInputs {
  /** The control plane's AWSMachineTemplate (base/cluster). */
  controlPlaneTemplate: K8sObject;
  /** The MachinePool's KubeadmConfig (base/machinepool) and its kubelet arguments. */
  poolConfig: K8sObject;
  poolKubeletArgs: { name: string; value: string }[];
  /** The MachineDeployment pools' AWSMachineTemplate and KubeadmConfigTemplate (base/machinedeployment/templates). */
  deploymentTemplate: K8sObject;
  deploymentConfig: K8sObject;
  deploymentKubeletArgs: { name: string; value: string }[];
}

/** What a cluster builds from: where each shared folder is, and the base objects its overlay derives from. */
export interface SharedBase {
  at: (shared: string) => string;
  inputs: BaseInputs;
}

/** The current base: base/ and the overlays where `generate` writes them, the objects as the generator builds them. */
export function currentBase(): SharedBase {
  const [, , , controlPlaneTemplate] = BASE_OBJECTS.cluster();
  const [, , poolConfig] = BASE_OBJECTS.machinePool();
  const [deploymentTemplate, deploymentConfig] = BASE_OBJECTS.mdTemplates();
  return {
    at: (p) => p,
    inputs: {
      controlPlaneTemplate,
      poolConfig,
      poolKubeletArgs: [...(poolConfig.spec?.joinConfiguration?.nodeRegistration?.kubeletExtraArgs ?? [])],
      deploymentTemplate,
      deploymentConfig,
      deploymentKubeletArgs: [
        ...(deploymentConfig.spec?.template.spec?.joinConfiguration?.nodeRegistration?.kubeletExtraArgs ?? []),
      ],
    },
  };
}

/** The released object of a kind in a released file, without the sync-safety annotations the file adds. */
function releasedObject(files: RingRelease["files"], file: string, kind: string): K8sObject | undefined {
  const text = files[file];
  if (text === undefined) return undefined;
  let docs: unknown[];
  try {
    docs = parseYamlStream(text);
  } catch {
    return undefined;
  }
  const o = docs.find((d): d is K8sObject => isK8sObject(d) && d.kind === kind);
  if (!o) return undefined;
  // The files hold syncSafe(object); the names hash the object itself (plan/cluster.ts hashedName), so a release of
  // the current base names every template as the current base does.
  const annotations = Object.fromEntries(
    Object.entries(o.metadata.annotations ?? {}).filter(([k]) => !(k in SYNC_SAFE)),
  );
  const { annotations: _dropped, ...metadata } = o.metadata;
  return { ...o, metadata: Object.keys(annotations).length ? { ...metadata, annotations } : metadata };
}

/** kubeletExtraArgs at a path of a parsed object; [] where there are none. */
function kubeletArgs(o: K8sObject | undefined, path: readonly string[]): { name: string; value: string }[] {
  let at: unknown = o;
  for (const k of path) at = at !== null && typeof at === "object" ? Reflect.get(at, k) : undefined;
  return Array.isArray(at)
    ? at.flatMap((a: unknown) => {
        const name: unknown = a !== null && typeof a === "object" ? Reflect.get(a, "name") : undefined;
        const value: unknown = a !== null && typeof a === "object" ? Reflect.get(a, "value") : undefined;
        return typeof name === "string" && typeof value === "string" ? [{ name, value }] : [];
      })
    : [];
}

/**
 * A ring's base: its clusters build from releases/<ring>/ and derive their names from the released objects (an
 * object missing from a release — one that does not read — falls back to the current one; validate's
 * release-integrity reports such a release).
 */
export function releasedBase(ring: string, release: RingRelease): SharedBase {
  const now = currentBase().inputs;
  const obj = (dir: string, file: string, kind: string) => releasedObject(release.files, `${dir}/${file}`, kind);
  const poolConfig = obj(BASE_DIRS.machinePool, "kubeadmconfig.yaml", "KubeadmConfig");
  const deploymentConfig = obj(BASE_DIRS.mdTemplates, "kubeadmconfigtemplate.yaml", "KubeadmConfigTemplate");
  const join = ["spec", "joinConfiguration", "nodeRegistration", "kubeletExtraArgs"];
  return {
    at: (p) => releasedPath(ring, p),
    inputs: {
      controlPlaneTemplate:
        obj(BASE_DIRS.cluster, "awsmachinetemplate.yaml", "AWSMachineTemplate") ?? now.controlPlaneTemplate,
      poolConfig: poolConfig ?? now.poolConfig,
      poolKubeletArgs: poolConfig ? kubeletArgs(poolConfig, join) : now.poolKubeletArgs,
      deploymentTemplate:
        obj(BASE_DIRS.mdTemplates, "awsmachinetemplate.yaml", "AWSMachineTemplate") ?? now.deploymentTemplate,
      deploymentConfig: deploymentConfig ?? now.deploymentConfig,
      deploymentKubeletArgs: deploymentConfig
        ? kubeletArgs(deploymentConfig, ["spec", "template", ...join])
        : now.deploymentKubeletArgs,
    },
  };
}

/** What `release --ring <ring>` does: the new release of the ring, or why it is refused. */
export type ReleaseStep =
  | { kind: "release"; ring: string; from: string; release: RingRelease }
  | { kind: "nothing"; message: string }
  | { kind: "refused"; findings: Finding[] };

const RING_FLAG = "--ring";

/**
 * The next release of `ring`: the first ring takes the candidate (a new number when it differs from what the ring
 * holds), a later ring the previous ring's release — refused while the previous ring holds nothing newer, so a change
 * reaches the rings one at a time and in order. An unknown ring is refused by name.
 */
export function planReleaseStep(
  rings: readonly string[],
  releases: Readonly<Record<string, RingRelease>>,
  ring: string,
  integrity: readonly Finding[] = [],
): ReleaseStep {
  const index = rings.indexOf(ring);
  if (index < 0)
    return {
      kind: "refused",
      findings: [
        {
          path: RING_FLAG,
          rule: "flag",
          severity: "error",
          message: rings.length
            ? `"${ring}" is not a ring; the rings are ${rings.join(", ")} (capi-gitops.yaml)`
            : `"${ring}" is not a ring: capi-gitops.yaml declares no rings`,
        },
      ],
    };
  if (integrity.length) return { kind: "refused", findings: [...integrity] };
  const held = releases[ring];
  const previous = rings[index - 1];
  if (previous === undefined) {
    const files = candidateFiles();
    if (held && releaseDigest(held.files) === releaseDigest(files))
      return {
        kind: "nothing",
        message:
          `ring ${ring} already holds base/ and the overlays as the generator makes them ` + `(release ${held.number})`,
      };
    const number = Math.max(0, ...Object.values(releases).map((r) => r.number)) + 1;
    return { kind: "release", ring, from: "base/ and the overlays", release: { number, files } };
  }
  const source = releases[previous];
  if (!source || (held && source.number <= held.number))
    return {
      kind: "refused",
      findings: [
        {
          path: RING_FLAG,
          rule: "release-order",
          severity: "error",
          message:
            `ring ${ring} already holds release ${held?.number ?? "?"}, which is what ring ${previous} holds: ` +
            `release to ${previous} first (npm run release -- --ring ${previous}), ` +
            `then to ${ring} once ${previous}'s clusters are Available`,
        },
      ],
    };
  return {
    kind: "release",
    ring,
    from: `ring ${previous} (release ${source.number})`,
    release: { number: source.number, files: source.files },
  };
}

/**
 * validate: each release is what its record says (no hand edit: a release changes only by `npm run release`), the
 * rings hold releases in order (a ring never ahead of the one before it), and where the latest release has reached
 * — info naming the rings still to release, and the candidate not yet released to any ring.
 */
export function releaseFindings(rings: readonly string[], loaded: Readonly<Record<string, LoadedRelease>>): Finding[] {
  const findings: Finding[] = [...releaseIntegrityFindings(rings, loaded)];
  const releases = ringReleases(rings, loaded);
  rings.forEach((ring, i) => {
    const previous = rings[i - 1];
    const mine = releases[ring];
    const before = previous === undefined ? undefined : releases[previous];
    if (!mine || !before || previous === undefined) return;
    const file = `${releaseDir(ring)}/${RELEASE_RECORD}`;
    if (mine.number > before.number || (mine.number === before.number && !sameFiles(mine, before)))
      findings.push({
        file,
        rule: "release-order",
        severity: "error",
        message:
          `ring ${ring} holds release ${mine.number}, which ring ${previous} (release ${before.number}) has not ` +
          `had: a release reaches the rings in order; restore ${releaseDir(ring)}/ from ${releaseDir(previous)}/ ` +
          `history, or release through the rings with npm run release`,
      });
    else if (mine.number < before.number)
      findings.push({
        file,
        rule: "release-pending",
        severity: "info",
        message:
          `ring ${ring} holds release ${mine.number}, ring ${previous} release ${before.number}: ` +
          `once ${previous}'s clusters are Available, npm run release -- --ring ${ring}`,
      });
  });
  const first = rings[0];
  const held = first === undefined ? undefined : releases[first];
  if (first !== undefined && held && !sameFiles(held, { number: 0, files: candidateFiles() }))
    findings.push({
      file: "base/",
      rule: "release-pending",
      severity: "info",
      message:
        `base/ and the overlays differ from ring ${first}'s release ${held.number}: the change reaches no cluster ` +
        `until released — npm run release -- --ring ${first}, then each next ring (${rings.join(" → ")})`,
    });
  return findings;
}

const sameFiles = (a: RingRelease, b: RingRelease) => releaseDigest(a.files) === releaseDigest(b.files);

/** Releases that are not what their record says: hand-edited files, or a record that does not read. */
export function releaseIntegrityFindings(
  rings: readonly string[],
  loaded: Readonly<Record<string, LoadedRelease>>,
): Finding[] {
  const findings: Finding[] = [];
  for (const ring of rings) {
    const l = loaded[ring];
    if (!l) continue;
    const file = `${releaseDir(ring)}/${RELEASE_RECORD}`;
    const record = recordOf(l.record);
    if (!record)
      findings.push({
        file,
        rule: "release-integrity",
        severity: "error",
        message: `does not read as {"release": <number ≥ 1>, "digest": "sha256:…"}; restore it from Git history`,
      });
    else if (record.digest !== releaseDigest(l.files))
      findings.push({
        file: `${releaseDir(ring)}/`,
        rule: "release-integrity",
        severity: "error",
        message:
          `differs from release ${record.release} as recorded in ${RELEASE_RECORD}: a release is changed only by ` +
          `npm run release (an edit here would reach ring ${ring} without passing the rings before it); ` +
          `restore it from Git history`,
      });
  }
  return findings;
}

/** The shared folders a release copies (base/, overlays/), by their top folder. */
const RELEASED_TOPS = [...new Set(Object.keys(candidateFiles()).map((p) => p.split("/")[0] ?? p))];

/**
 * diff: changed files under base/ or the overlays reach no cluster while the rings release — said as info with the
 * way to release them, so a reviewer does not read "no cluster changed" as "nothing will change".
 */
export function unreleasedChangeFindings(changed: readonly string[], rings: readonly string[]): Finding[] {
  const files = changed.filter((p) => RELEASED_TOPS.includes(p.split("/")[0] ?? "")).sort();
  const [first, ...rest] = files;
  const [ring] = rings;
  if (first === undefined || ring === undefined) return [];
  return [
    {
      file: first,
      rule: "release-pending",
      severity: "info",
      message:
        `${first}${rest.length ? ` and ${rest.length} more` : ""} changed: it reaches no cluster until released — ` +
        `npm run release -- --ring ${ring}, then each next ring (${rings.join(" → ")})`,
    },
  ];
}
