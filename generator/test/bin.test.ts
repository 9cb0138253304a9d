/**
 * generator/bin/capi-gitops.js, what every `npm run <command>` runs: it bundles generator/src/cli.ts into .tools/cli/
 * and runs the bundle; an edited source is what the next run runs (the bundle is rebuilt), each module keeps its own
 * import.meta.url, and the exit code is the CLI's. Checked on a copy of the launcher in a small tool folder of its own.
 */
import { execa } from "execa";
import { copyFile, mkdir, readdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, ROOT, tempDir } from "./helpers.js";

let tool: string;
let cleanup: () => Promise<void>;
const cli = (src: string) =>
  `import { where } from "./where.js";\n` +
  `export const processIo = () => ({ stdout: process.stdout });\n` +
  `export async function run(argv: string[], io: { stdout: { write(s: string): unknown } }): Promise<number> {\n` +
  `  io.stdout.write(${JSON.stringify(src)} + " " + argv.join(",") + " " + where + "\\n");\n` +
  `  return argv.includes("fail") ? 1 : 0;\n}\n`;

beforeAll(async () => {
  ({ dir: tool, cleanup } = await tempDir("capi-gitops-bin-"));
  await mkdir(path.join(tool, "generator", "bin"), { recursive: true });
  await mkdir(path.join(tool, "generator", "src", "pins"), { recursive: true });
  await copyFile(BIN, path.join(tool, "generator", "bin", "capi-gitops.js"));
  await symlink(path.join(ROOT, "node_modules"), path.join(tool, "node_modules"));
  await writeFile(path.join(tool, "package-lock.json"), "{}\n");
  await writeFile(path.join(tool, "tsconfig.json"), "{}\n");
  await writeFile(path.join(tool, "generator", "src", "where.ts"), `export { where } from "./pins/where.js";\n`);
  await writeFile(
    path.join(tool, "generator", "src", "pins", "where.ts"),
    `import { fileURLToPath } from "node:url";\nexport const where = fileURLToPath(import.meta.url);\n`,
  );
});
afterAll(async () => cleanup?.());

const runBin = (...args: string[]) =>
  execa("node", [path.join(tool, "generator", "bin", "capi-gitops.js"), ...args], { reject: false });

describe("the bin", () => {
  it("runs the bundled CLI, rebuilds it when a source changes, and keeps each module's import.meta.url", async () => {
    await writeFile(path.join(tool, "generator", "src", "cli.ts"), cli("first"));
    const a = await runBin("validate", "x");
    expect(a.exitCode, a.stderr).toBe(0);
    expect(a.stdout).toBe(`first validate,x ${path.join(tool, "generator", "src", "pins", "where.ts")}`);
    expect((await readdir(path.join(tool, ".tools", "cli"))).filter((f) => f.endsWith(".mjs"))).toHaveLength(1);

    // The same sources: the same bundle, nothing rebuilt.
    expect((await runBin("again")).stdout).toContain("first again");
    expect((await readdir(path.join(tool, ".tools", "cli"))).filter((f) => f.endsWith(".mjs"))).toHaveLength(1);

    // An edit is what runs next; the CLI's exit code is the process's.
    await writeFile(path.join(tool, "generator", "src", "cli.ts"), cli("second"));
    const b = await runBin("fail");
    expect(b.stdout).toContain("second fail");
    expect(b.exitCode).toBe(1);
  });

  it("a source that does not compile: exit 2 and the file and line, nothing run", async () => {
    await writeFile(path.join(tool, "generator", "src", "cli.ts"), `export const broken = ;\n`);
    const r = await runBin("validate");
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/the CLI does not build \(generator\/src\):\n.*cli\.ts:1: /);
    expect(r.stdout).toBe("");
  });
});
