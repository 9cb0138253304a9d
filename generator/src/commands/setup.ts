/**
 * `npm run setup` (after `npm ci`): builds the pinned Go tools into .tools/bin and lays the pinned CRDs (from
 * `go mod download`) into .tools/crds for the CEL layer of `validate`. Skips what is already at its pin.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { versions } from "../pins/versions.js";
import { CRDS_DIR, readStamp, TOOLS_BIN } from "../tools/resolve.js";
import { goBuild, goInstall } from "../tools/go.js";
import { ADMISSION, ADMISSION_DIR, admissionSourceHash } from "../tools/admission.js";
import { HEALTH, HEALTH_DIR, healthSourceHash } from "../tools/health.js";
import { toYaml } from "../core/yaml.js";
import { isRecord } from "../k8s/object.js";
import { loadPinnedCrds } from "../workflows/crds.js";
import { buildAll, withProgress } from "../workflows/progress.js";

/** The pinned tool built from the CAPA module at the version the admission program requires (versions.json). */
const SHARES_WITH_ADMISSION = "clusterawsadm";

export async function setupCommand(opts: { log: (line: string) => void; force?: boolean }): Promise<void> {
  await mkdir(TOOLS_BIN, { recursive: true });
  const install = async (name: string, pin: { module: string; version: string }) => {
    const want = `${pin.module}@${pin.version}`;
    const stamp = path.join(TOOLS_BIN, `${name}.version`);
    if (!opts.force && readStamp(name) === want) {
      opts.log(`${name}: ${want} already in .tools/bin`);
      return;
    }
    // One `go install` per tool: go install takes several packages@version only from one module.
    opts.log(`${name}: go install ${want} …`);
    const seconds = await withProgress(name, opts.log, () => goInstall(pin.module, pin.version, TOOLS_BIN));
    await writeFile(stamp, `${want}\n`);
    opts.log(`${name}: installed .tools/bin/${name} in ${seconds} s`);
  };
  // Two builds at a time (workflows/progress.ts buildAll). First the admission program and then, in the same lane,
  // the tool that shares most of its compiled packages (the same CAPI, CAPA and Kubernetes versions; tools/go.ts
  // SHARED_BUILD): the second finds them in Go's cache instead of compiling them beside the first. Then the other
  // tools in name order and health/, its own module (Flux's CEL library needs k8s.io v0.36, admission/ is on v0.35).
  const tools = Object.entries(versions().tools).sort(([a], [b]) => (a < b ? -1 : 1));
  const shared = tools.find(([name]) => name === SHARES_WITH_ADMISSION);
  await buildAll([
    async () => {
      await buildAdmission({ ...opts, bin: TOOLS_BIN });
      if (shared) await install(...shared);
    },
    ...tools
      .filter((t) => t !== shared)
      .map(
        ([name, pin]) =>
          () =>
            install(name, pin),
      ),
    () => buildHealth({ ...opts, bin: TOOLS_BIN }),
  ]);

  const want = JSON.stringify(versions().crds);
  const stamp = path.join(CRDS_DIR, ".version");
  if (!opts.force && (await readFile(stamp, "utf8").catch(() => "")) === want) {
    opts.log("CRDs: already in .tools/crds");
    return;
  }
  await rm(CRDS_DIR, { recursive: true, force: true });
  for (const input of await loadPinnedCrds(opts.log)) {
    const dir = path.join(CRDS_DIR, input.name);
    await mkdir(dir, { recursive: true });
    for (const { crd } of input.crds) {
      const meta = isRecord(crd) ? crd.metadata : undefined;
      const name = isRecord(meta) && typeof meta.name === "string" ? meta.name : "crd";
      await writeFile(path.join(dir, `${name}.yaml`), toYaml(crd));
    }
  }
  await writeFile(stamp, want);
  opts.log("CRDs: written to .tools/crds");
}

/**
 * Builds admission/ (the upstream CAPI/CAPA admission, see admission/README.md) into `bin`; skipped when the stamp
 * beside the binary is the hash of its sources (admission/*.go, go.mod, go.sum). A cold build takes minutes
 * (BENCHMARKS.md).
 */
export async function buildAdmission(opts: {
  log: (line: string) => void;
  force?: boolean;
  bin: string;
  dir?: string;
}): Promise<"built" | "current"> {
  const dir = opts.dir ?? ADMISSION_DIR;
  const want = admissionSourceHash(dir);
  const stamp = path.join(opts.bin, `${ADMISSION}.version`);
  if (!opts.force && readStamp(ADMISSION, opts.bin) === want) {
    opts.log(`${ADMISSION}: built from the current admission/ sources, in .tools/bin`);
    return "current";
  }
  opts.log(`${ADMISSION}: go build in admission/ (CAPI/CAPA webhooks; a cold build takes ≈4–6 min on 2 cores) …`);
  const seconds = await withProgress(ADMISSION, opts.log, () => goBuild(dir, path.join(opts.bin, ADMISSION)));
  await writeFile(stamp, `${want}\n`);
  opts.log(`${ADMISSION}: built .tools/bin/${ADMISSION} in ${seconds} s`);
  return "built";
}

/**
 * Builds health/ (Argo CD and Flux health checks, see health/README.md) into `bin`; skipped when the stamp beside the
 * binary is the hash of its sources (health/*.go, go.mod, go.sum). A cold build takes a few minutes (README).
 */
export async function buildHealth(opts: {
  log: (line: string) => void;
  force?: boolean;
  bin: string;
  dir?: string;
}): Promise<"built" | "current"> {
  const dir = opts.dir ?? HEALTH_DIR;
  const want = healthSourceHash(dir);
  const stamp = path.join(opts.bin, `${HEALTH}.version`);
  if (!opts.force && readStamp(HEALTH, opts.bin) === want) {
    opts.log(`${HEALTH}: built from the current health/ sources, in .tools/bin`);
    return "current";
  }
  opts.log(`${HEALTH}: go build in health/ (Argo CD + Flux health checks; cold ≈5 min on a busy 2-core machine) …`);
  const seconds = await withProgress(HEALTH, opts.log, () => goBuild(dir, path.join(opts.bin, HEALTH)));
  await writeFile(stamp, `${want}\n`);
  opts.log(`${HEALTH}: built .tools/bin/${HEALTH} in ${seconds} s`);
  return "built";
}
