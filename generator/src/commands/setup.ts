/**
 * `npm run setup` (after `npm ci`): builds the pinned Go tools into .tools/bin and lays the pinned CRDs (from
 * `go mod download`) into .tools/crds for the CEL layer of `validate`. Skips what is already at its pin.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { versions } from "../versions.js";
import { CRDS_DIR, TOOLS_BIN } from "../tools/resolve.js";
import { goInstall } from "../tools/go.js";
import { toYaml } from "../yaml.js";
import { loadPinnedCrds } from "./schemas.js";

export async function setupCommand(opts: { log: (line: string) => void; force?: boolean }): Promise<void> {
  await mkdir(TOOLS_BIN, { recursive: true });
  for (const [name, pin] of Object.entries(versions().tools).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const want = `${pin.module}@${pin.version}`;
    const stamp = path.join(TOOLS_BIN, `${name}.version`);
    const have = await readFile(stamp, "utf8").catch(() => "");
    if (!opts.force && have.trim() === want) {
      opts.log(`${name}: ${want} already in .tools/bin`);
      continue;
    }
    opts.log(`${name}: go install ${want} …`);
    await goInstall(pin.module, pin.version, TOOLS_BIN);
    await writeFile(stamp, `${want}\n`);
    opts.log(`${name}: installed .tools/bin/${name}`);
  }

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
      const name = (crd as { metadata?: { name?: string } }).metadata?.name ?? "crd";
      await writeFile(path.join(dir, `${name}.yaml`), toYaml(crd));
    }
  }
  await writeFile(stamp, want);
  opts.log("CRDs: written to .tools/crds");
}
