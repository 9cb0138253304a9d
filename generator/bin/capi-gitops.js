#!/usr/bin/env node
/**
 * The program every `npm run <command>` runs: the CLI (generator/src/cli.ts) bundled into one ES module by esbuild,
 * kept in .tools/cli/ and rebuilt (≈ 0.8 s with the packages) when a file under generator/src, package-lock.json or
 * tsconfig.json changed (their paths, sizes, inodes and change times, like git's index), so an edit is always what
 * runs. A bundle started in ≈ 0.4 s where loading the ~250 TypeScript modules through tsx took ≈ 0.9 s
 * (BENCHMARKS.md); with the packages in the bundle too, `--help` takes 0.31 s instead of 0.61 s (2026-12-07,
 * alternated 6×): the start-up is most of a warm `validate` or of a command that finds a mistake in its flags. Tests
 * import generator/src directly.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { setFlagsFromString } from "node:v8";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const SRC = path.join(ROOT, "generator", "src");
const OUT = path.join(ROOT, ".tools", "cli");
/** Bundles older than this, of other sources, are removed (a run still loading one is long past that point). */
const STALE_MS = 10 * 60_000;

/** The key of the bundle: every source file's path and stat, the lock file, tsconfig.json and Node's version. */
function sourcesKey() {
  const h = createHash("sha256").update(`${process.version}\n`);
  const add = (file) => {
    let st;
    try {
      st = statSync(file);
    } catch {
      h.update(`${path.relative(ROOT, file)}\0missing\n`);
      return;
    }
    h.update(`${path.relative(ROOT, file)}\0${st.size}\0${st.ino}\0${st.mtimeMs}\0${st.ctimeMs}\n`);
  };
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else add(p);
    }
  };
  walk(SRC);
  add(path.join(ROOT, "package-lock.json"));
  add(path.join(ROOT, "tsconfig.json"));
  add(fileURLToPath(import.meta.url));
  return h.digest("hex").slice(0, 20);
}

/** Each module keeps its own `import.meta.url` (pins/versions.ts finds the tool's root from it). */
const ownUrls = {
  name: "own-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => ({
      contents: readFileSync(args.path, "utf8").replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href)),
      loader: "ts",
    }));
  },
};

async function bundle() {
  const file = path.join(OUT, `cli-${sourcesKey()}.mjs`);
  try {
    statSync(file);
    return file;
  } catch {
    // not built for these sources yet
  }
  const { build, stop } = await import("esbuild");
  const result = await build({
    entryPoints: [path.join(SRC, "cli.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: `node${process.versions.node.split(".")[0]}`,
    // The packages are bundled too: resolving and loading their hundreds of files one by one took ≈ 0.1 s of every
    // start. The two left out are imported only by the code that needs them (kind types, the prompts), so no other
    // command loads them. A bundled CommonJS package requires Node's modules through `require`, which an ES module
    // lacks.
    external: ["prettier", "@inquirer/prompts"],
    banner: {
      js: [
        'import { createRequire as __capiGitopsRequire } from "node:module";',
        "const require = __capiGitopsRequire(import.meta.url);",
      ].join("\n"),
    },
    write: false,
    logLevel: "silent",
    plugins: [ownUrls],
  }).catch((e) => {
    const errors = e?.errors?.map((x) => `${x.location?.file ?? ""}:${x.location?.line ?? ""}: ${x.text}`) ?? [String(e)];
    process.stderr.write(`capi-gitops: the CLI does not build (generator/src):\n${errors.join("\n")}\n`);
    process.exit(2);
  });
  // esbuild's service process (≈ 100 MB resident) would otherwise stay beside the command for its whole run.
  await stop();
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(OUT, { recursive: true });
    writeFileSync(tmp, result.outputFiles[0].contents);
    renameSync(tmp, file);
  } catch {
    // .tools/cli is not writable by this user (another user's checkout): run the sources through tsx instead.
    return undefined;
  }
  const now = Date.now();
  for (const old of readdirSync(OUT))
    if (path.join(OUT, old) !== file && now - statSync(path.join(OUT, old)).mtimeMs > STALE_MS)
      rmSync(path.join(OUT, old), { force: true });
  return file;
}

// After each full collection V8 lets the heap grow to up to 4× what is still live before the next one; validate reads
// each cluster's build into objects it keeps only for a while, so most of the heap was garbage waiting: the process
// peaked at ≈ 1 GB for 1000 clusters whose live objects were ≈ 230 MB (forced collections between the stages: 515 MB).
// Growing by 30% instead keeps the peak near what is live, at no measurable cost in time (BENCHMARKS.md).
setFlagsFromString("--heap-growing-percent=30");

const bundled = await bundle();
if (!bundled) await import("tsx");
const { run, processIo } = await import(bundled ? pathToFileURL(bundled).href : "../src/cli.js");
process.exitCode = await run(process.argv.slice(2), processIo());
