/** `npm run setup` (after `npm ci`): builds the pinned Go tools into .tools/bin, skipping ones already at their pin. */
import { readFile, writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { versions } from "../versions.js";
import { TOOLS_BIN } from "../tools/resolve.js";
import { goInstall } from "../tools/go.js";

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
}
