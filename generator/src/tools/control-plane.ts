/**
 * The programs of `npm run e2e` built from their Go modules: the management cluster's etcd and kube-apiserver
 * (versions.json "e2e"), and Flux's kustomize-controller at the pinned Flux CRDs' version (versions.json crds
 * "flux-kustomize-controller": the controller of the CRDs the sync manifests are checked against), which the box's
 * rollout-ring run syncs the repository with. The modules carry replace directives pointing into their own source
 * trees (etcd's sibling modules, kubernetes' staging/, kustomize-controller's api/ — absent from the module zip), so
 * `go install module@version` refuses them. The build copies the module out of the module cache, drops every
 * replace with a local target, requires those modules at their published versions (etcd: the same version;
 * kubernetes: its staging modules' v0.<minor>.<patch> tags, which go.mod lists as v0.0.0; kustomize-controller: the
 * api module its go.mod requires), lets `go list -mod=mod` complete go.sum and builds the binary.
 */
import { chmod, cp, mkdtemp, readdir, rename, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pinnedVersions, type GoTool } from "../pins/versions.js";
import { goBuildPackage, goListDeps, goModDownload, goModEdit, goModJson } from "./go.js";
import { readStamp, TOOLS_BIN } from "./resolve.js";

export const CONTROL_PLANE = ["etcd", "kube-apiserver"] as const;

/** Every program `npm run e2e` builds: the control plane, then the Flux controller the rings run syncs with. */
export const E2E_BINARIES = [...CONTROL_PLANE, "kustomize-controller"] as const;
export type E2eBinary = (typeof E2E_BINARIES)[number];

/** The pinned Flux CRDs whose controller the box runs (versions.json crds). */
const KUSTOMIZE_CONTROLLER_CRDS = "flux-kustomize-controller";

interface Recipe {
  /** The package to build, inside the module. */
  pkg: string;
  cgo?: false;
  ldflags?: (version: string) => string;
  /** The version of a module whose go.mod requirement is a v0.0.0 placeholder (kubernetes' staging modules). */
  placeholder?: (version: string) => string;
}

const RECIPES: Record<E2eBinary, Recipe> = {
  etcd: { pkg: "." },
  // Flux builds its controllers without cgo (its Dockerfile); the api/ replace becomes the published api module.
  "kustomize-controller": { pkg: ".", cgo: false },
  "kube-apiserver": {
    pkg: "./cmd/kube-apiserver",
    cgo: false,
    // The version the server reports (/version, and the minimum-version checks of clients); without it v0.0.0.
    ldflags: (v) => `-s -w -X k8s.io/component-base/version.gitVersion=${v}`,
    placeholder: (v) => v.replace(/^v1\./, "v0."),
  },
};

/** The pin of each binary (versions.json "e2e"; kustomize-controller: its CRDs' pin). */
export function e2ePins(): Record<E2eBinary, GoTool> {
  const pins = pinnedVersions();
  if (!pins.e2e) throw new Error('versions.json has no "e2e" entry (etcd, kube-apiserver)');
  const flux = pins.crds[KUSTOMIZE_CONTROLLER_CRDS];
  if (!flux) throw new Error(`versions.json has no crds entry "${KUSTOMIZE_CONTROLLER_CRDS}"`);
  return { ...pins.e2e, "kustomize-controller": { module: flux.module, version: flux.version } };
}

/** Whether etcd and kube-apiserver are in `bin` at their pins (the stamp beside each, as `npm run e2e` writes it). */
export function controlPlaneInstalled(bin = TOOLS_BIN): boolean {
  const pins = e2ePins();
  return CONTROL_PLANE.every((n) => readStamp(n, bin) === `${pins[n].module}@${pins[n].version}`);
}

/** The `go mod edit` arguments that turn an upstream module's local replaces into published requirements (pure). */

export function replaceEdits(
  mod: {
    Require?: { Path: string; Version: string }[];
    Replace?: { Old: { Path: string }; New: { Path: string; Version?: string } }[];
  },
  version: string,
  recipe: Pick<Recipe, "placeholder">,
): string[] {
  const required = new Map((mod.Require ?? []).map((r) => [r.Path, r.Version]));
  const args: string[] = [];
  for (const r of mod.Replace ?? []) {
    if (!/^\.\.?\//.test(r.New.Path)) continue;
    args.push(`-dropreplace=${r.Old.Path}`);
    const have = required.get(r.Old.Path);
    if (have === undefined) continue;
    const want = have === "v0.0.0" && recipe.placeholder ? recipe.placeholder(version) : have;
    if (want !== have) args.push(`-require=${r.Old.Path}@${want}`);
  }
  return args;
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await makeWritable(p);
    else if (e.isFile()) await chmod(p, 0o644);
  }
}

/** Builds one binary from its pinned module into `out` (written beside it first, then renamed into place). */
export async function buildE2eBinary(name: E2eBinary, pin: GoTool, out: string): Promise<void> {
  const recipe = RECIPES[name];
  const src = await goModDownload(pin.module, pin.version);
  const work = await mkdtemp(path.join(os.tmpdir(), `capi-gitops-${name}-`));
  try {
    const dir = path.join(work, "src");
    await cp(src, dir, { recursive: true });
    await makeWritable(dir);
    for (const f of ["go.work", "go.work.sum"]) await rm(path.join(dir, f), { force: true });
    await rm(path.join(dir, "vendor"), { recursive: true, force: true });
    const edits = replaceEdits(await goModJson(dir), pin.version, recipe);
    if (edits.length) await goModEdit(dir, edits);
    await goListDeps(dir, recipe.pkg);
    const tmp = `${out}.building-${process.pid}`;
    await goBuildPackage(dir, recipe.pkg, tmp, { cgo: recipe.cgo, ldflags: recipe.ldflags?.(pin.version) });
    await rename(tmp, out);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
