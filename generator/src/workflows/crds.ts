/**
 * The CRDs of the modules pinned in versions.json "crds", read from the Go module cache (downloaded when missing):
 * `schemas` converts them for kubeconform, `setup` lays them into .tools/crds for the CEL layer.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { CapiGitopsError, messageOf, ToolError } from "../core/errors.js";
import type { CrdInput } from "../schemas/build.js";
import { goModDownload } from "../tools/go.js";
import { versions } from "../pins/versions.js";
import { parseYamlStream } from "../core/yaml.js";
import { isRecord } from "../k8s/object.js";

export async function moduleDir(module: string, version: string): Promise<string> {
  try {
    return await goModDownload(module, version);
  } catch (e) {
    if (e instanceof CapiGitopsError) throw e;
    throw new ToolError(
      `cannot download ${module}@${version}: ${messageOf(e)}`,
      `go mod download -json ${module}@${version}`,
    );
  }
}

export function readText(file: string, source: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new ToolError(
      `${source}: cannot read ${file}: ${messageOf(e)} — is the path in versions.json right for this version?`,
    );
  }
}

function crdFilesIn(dir: string, source: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new ToolError(
      `${source}: cannot list ${dir}: ${messageOf(e)} — is the path in versions.json right for this version?`,
    );
  }
  return names
    .filter((n) => /\.ya?ml$/.test(n))
    .sort()
    .map((n) => path.join(dir, n));
}

function isCrd(doc: unknown): boolean {
  return isRecord(doc) && doc.kind === "CustomResourceDefinition";
}

/** Every CRD of the modules pinned in versions.json "crds", read from the Go module cache (downloaded when missing). */
export async function loadPinnedCrds(log: (line: string) => void): Promise<(CrdInput & { name: string })[]> {
  const pins = versions();
  const crdInputs: (CrdInput & { name: string })[] = [];
  for (const [name, pin] of Object.entries(pins.crds)) {
    const source = `${pin.module}@${pin.version}`;
    const dir = await moduleDir(pin.module, pin.version);
    const files = [
      ...(pin.dirs ?? []).flatMap((d) =>
        crdFilesIn(path.join(dir, d), source).map((file) => ({ file, listed: false })),
      ),
      ...(pin.files ?? []).map((f) => ({ file: path.join(dir, f), listed: true })),
    ];
    const crds: CrdInput["crds"] = [];
    for (const { file, listed } of files) {
      const rel = path.relative(dir, file);
      let docs: unknown[];
      try {
        docs = parseYamlStream(readText(file, source));
      } catch (e) {
        throw new ToolError(`${source} ${rel}: ${messageOf(e)}`);
      }
      const found = docs.filter(isCrd);
      if (found.length === 0 && listed) {
        throw new ToolError(`${source} ${rel}: holds no CustomResourceDefinition`);
      }
      for (const crd of found) crds.push({ file: rel, crd });
    }
    if (crds.length === 0)
      throw new ToolError(`${source} (${name} in versions.json): no CustomResourceDefinitions found`);
    log(`${name}: ${source}, ${crds.length} CRDs`);
    crdInputs.push({ name, source, crds });
  }

  return crdInputs;
}
