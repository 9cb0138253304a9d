/**
 * `npm run -s ci:scope [-- --base <ref>]`: what the workflow runs for this change (.github/workflows/validate.yml).
 * Prints `key=value` lines — and appends them to $GITHUB_OUTPUT when set — :
 *   tool=true|false  the tool changed since <ref> (repo/scope.ts): its tests, e2e and benchmark run, and validate
 *                    checks the whole fleet; without --base (pushes to main, the schedule) always true
 *   e2e=true|false   package.json has an `e2e` script (the e2e job runs it when the tool changed)
 *   base=<sha>       the base the fleet job validates against (`validate --changed-since`), empty without --base
 * and, on stderr, the tool paths that decided it. Exit 0, or 2 when git fails.
 */
import { appendFileSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { changeScope } from "../src/repo/scope.js";
import { changedSince, revParse } from "../src/tools/git.js";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { base: { type: "string" }, repo: { type: "string" } } });
  const root = path.resolve(values.repo ?? ".");
  const scripts =
    (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { scripts?: Record<string, string> })
      .scripts ?? {};
  let tool = true;
  let base = "";
  if (values.base) {
    base = await revParse(root, values.base);
    const scope = changeScope(await changedSince(root, base));
    tool = scope.tool;
    process.stderr.write(
      scope.tool
        ? `tool changed: ${scope.toolPaths.slice(0, 20).join(", ")}${scope.toolPaths.length > 20 ? ", …" : ""}\n`
        : `fleet-only change since ${base}\n`,
    );
  } else process.stderr.write("no --base: everything runs\n");
  const out = `tool=${tool}\ne2e=${"e2e" in scripts}\nbase=${base}\n`;
  process.stdout.write(out);
  if (process.env.GITHUB_OUTPUT) appendFileSync(process.env.GITHUB_OUTPUT, out);
}

main().catch((e: unknown) => {
  process.stderr.write(`ci:scope: ${(e as Error).message}\n`);
  process.exitCode = 2;
});
