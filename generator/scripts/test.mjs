/**
 * `npm test`: the static checks — types (tsc), format (Prettier), lint (ESLint), import cycles (madge), unused code
 * (knip) — one after another in one lane, side by side with the unit tests (`vitest run --project unit`). The checks
 * are each ≈ one core for 3–22 s and the test files leave part of the second core idle while they wait on their child
 * programs: run after each other the two took ≈ 47 s + the tests on the 2-core machine, side by side the checks fit in
 * the tests' gaps. vitest prints as it runs; each check's output is printed when it ends, and a summary at the end.
 * Exit code: 0 when every check and the tests pass, else the first failure's (its name in the summary).
 * Arguments after `--` go to vitest (e.g. `npm test -- generator/test/cli.test.ts`).
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = path.join(ROOT, "node_modules", ".bin");

const CHECKS = [
  ["tsc", "-p", ".", "--noEmit"],
  ["prettier", "--check", "."],
  ["eslint", "--max-warnings", "0", "."],
  ["madge", "--circular", "--extensions", "ts", "generator/src"],
  ["knip"],
];

/** Runs a command from node_modules/.bin at the root; its exit code and, unless it inherits the terminal, its output. */
function run(argv, inherit) {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    const child = spawn(path.join(BIN, cmd), args, {
      cwd: ROOT,
      stdio: inherit ? "inherit" : ["ignore", "pipe", "pipe"],
      env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? (process.stdout.isTTY ? "1" : "0") },
    });
    let out = "";
    child.stdout?.on("data", (d) => (out += d));
    child.stderr?.on("data", (d) => (out += d));
    child.on("error", (e) => resolve({ code: 2, out: `${cmd}: ${e.message}\n` }));
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 1 : 2), out }));
  });
}

const started = Date.now();
const secs = () => `${Math.round((Date.now() - started) / 1000)} s`;
const results = [];
const staticLane = (async () => {
  for (const argv of CHECKS) {
    const r = await run(argv, false);
    results.push({ name: argv.join(" "), code: r.code, at: secs() });
    process.stdout.write(`\n── ${argv.join(" ")}: ${r.code === 0 ? "ok" : `failed (exit ${r.code})`} (${secs()})\n`);
    if (r.code !== 0 || r.out.trim()) process.stdout.write(r.out.endsWith("\n") ? r.out : `${r.out}\n`);
  }
})();
const tests = run(["vitest", "run", "--project", "unit", ...process.argv.slice(2)], true).then((r) =>
  results.push({ name: "vitest run --project unit", code: r.code, at: secs() }),
);
await Promise.all([staticLane, tests]);

const failed = results.filter((r) => r.code !== 0);
process.stdout.write(
  `\nnpm test (${secs()}): ${results.map((r) => `${r.name.split(" ")[0]} ${r.code === 0 ? "ok" : "FAILED"}`).join(", ")}\n`,
);
process.exitCode = failed[0]?.code ?? 0;
