/**
 * The Go toolchain: builds pinned tools (`go install module@version`) and fetches pinned modules (`go mod download`).
 */
import os from "node:os";
import { get, isRecord } from "../k8s/object.js";
import { run, type Env } from "./run.js";

const hint = "install Go (https://go.dev/dl) — the setup builds kustomize and kubeconform from Go modules";

/**
 * Flags of every compile the tool runs (`go install`, `go build`, `go test`): no DWARF debug information — the
 * compiler does not produce it, the linker does not write it. The programs run the same (a panic still names its
 * functions; `go version -m` still reads the module versions). A cold build of kustomize took ≈ 4–7% less CPU,
 * alternated 3× (BENCHMARKS.md), and every tool here compiles from source, on every fresh machine and in CI.
 */
const LEAN_BUILD = "-gcflags=all=-dwarf=false -ldflags=-w";

/**
 * The environment of a compile: the Go compiler and linker (Go programs) collect garbage four times less often
 * (GOGC=400). The same cold kustomize build took ≈ 14% less CPU on top of LEAN_BUILD (median of 3, alternated),
 * each compile holding ≈ 1.3× the memory. The output is the same, and GOGC is no part of Go's build-cache keys.
 * Never for a command that runs what it built (`go test`): the tests would inherit it.
 */
const COMPILE_ENV = { GOGC: "400" } as const;

/**
 * The flags every compile shares, whoever's module it is: `-trimpath` and LEAN_BUILD. They are part of each compiled
 * package's key in Go's build cache, so a package at the same version with the same dependencies compiles once for
 * every program here: clusterawsadm and the admission program share ≈ 950 packages (CAPI, CAPA, Kubernetes at the
 * same versions, and the standard library), the admission program and the e2e suite ≈ 1,200; each tool shares the
 * standard library with the others. The binaries name no folder of the machine that built them.
 */
const SHARED_BUILD = `-trimpath ${LEAN_BUILD}`;

/** GOFLAGS of a compile of an upstream module (`go install module@version`, a prepared copy): go.sum may grow. */
const UPSTREAM_GOFLAGS = `-mod=mod ${SHARED_BUILD}`;

export async function goInstall(module: string, version: string, gobin: string): Promise<void> {
  await run("go", ["install", `${module}@${version}`], {
    cwd: os.tmpdir(),
    env: { ...COMPILE_ENV, GOBIN: gobin, GOFLAGS: UPSTREAM_GOFLAGS },
    timeoutMs: 20 * 60_000,
    installHint: hint,
  });
}

/** Downloads module@version into the module cache and returns its directory. */
export async function goModDownload(module: string, version: string): Promise<string> {
  const { stdout } = await run("go", ["mod", "download", "-json", `${module}@${version}`], {
    cwd: os.tmpdir(),
    env: { GOFLAGS: "-mod=mod" },
    timeoutMs: 20 * 60_000,
    installHint: hint,
  });
  const info: unknown = JSON.parse(stdout);
  const dir = get(info, "Dir");
  if (typeof dir === "string" && dir) return dir;
  const error = get(info, "Error");
  throw new Error(
    `go mod download ${module}@${version} returned no Dir${typeof error === "string" && error ? `: ${error}` : ""}`,
  );
}

/**
 * `go build -o out .` in a module directory of this repository (the admission program): its own go.mod pins its
 * dependencies, so no @version. `nice` is the caller's business; the build can take minutes on a cold cache.
 */
export async function goBuild(dir: string, out: string, opts: { timeoutMs?: number } = {}): Promise<void> {
  await compileInOwnModule(dir, ["build", "-o", out, "."], opts.timeoutMs ?? 30 * 60_000);
}

/**
 * GOFLAGS of every `go` command in a module directory of this repository: its go.mod as written (`-mod=readonly`) and
 * SHARED_BUILD, for builds and tests alike, so the modules' own `go test` reuses what the builds compiled (.ci/run
 * and the workflow give `go test` the same GOFLAGS: workflow.test.ts holds them to this one).
 */
export const OWN_MODULE_GOFLAGS = `-mod=readonly ${SHARED_BUILD}`;

/** A compile (`go build`, `go test -c`) in a module directory of this repository, with OWN_MODULE_GOFLAGS. */
async function compileInOwnModule(dir: string, args: readonly string[], timeoutMs: number): Promise<void> {
  await run("go", args, {
    cwd: dir,
    env: { ...COMPILE_ENV, GOFLAGS: OWN_MODULE_GOFLAGS },
    timeoutMs,
    installHint: hint,
  });
}

/** `go mod edit ARGS` in a module directory (a copy of an upstream module being prepared for a build). */
export async function goModEdit(dir: string, args: readonly string[]): Promise<void> {
  await run("go", ["mod", "edit", ...args], { cwd: dir, timeoutMs: 60_000, installHint: hint });
}

/** `go list -mod=mod -deps PKG`: resolves (and downloads) every module the package needs, filling go.sum. */
export async function goListDeps(dir: string, pkg: string): Promise<void> {
  await run("go", ["list", "-mod=mod", "-deps", pkg], { cwd: dir, timeoutMs: 20 * 60_000, installHint: hint });
}

/**
 * `go build [-ldflags …] -o out PKG` in a prepared copy of an upstream module (its go.mod already says every version):
 * `-mod=mod` lets go.sum be completed, CGO off when asked (a static kube-apiserver).
 */
export async function goBuildPackage(
  dir: string,
  pkg: string,
  out: string,
  opts: { ldflags?: string; cgo?: boolean; timeoutMs?: number } = {},
): Promise<void> {
  await run("go", ["build", ...(opts.ldflags ? ["-ldflags", opts.ldflags] : []), "-o", out, pkg], {
    cwd: dir,
    env: { ...COMPILE_ENV, GOFLAGS: UPSTREAM_GOFLAGS, ...(opts.cgo === false ? { CGO_ENABLED: "0" } : {}) },
    timeoutMs: opts.timeoutMs ?? 60 * 60_000,
    installHint: hint,
  });
}

/**
 * `go test -c -o out .` in a module directory of this repository: compiles its test binary without running it, so
 * the packages it needs are in Go's build cache and a later `go test` there links and runs.
 */
export async function goTestCompile(dir: string, out: string, opts: { timeoutMs?: number } = {}): Promise<void> {
  await compileInOwnModule(dir, ["test", "-c", "-o", out, "."], opts.timeoutMs ?? 60 * 60_000);
}

/** One event of `go test -json` (test2json). */
export interface GoTestEvent {
  Action: "start" | "run" | "pause" | "cont" | "pass" | "bench" | "fail" | "output" | "skip";
  Package?: string;
  Test?: string;
  Output?: string;
  Elapsed?: number;
}

const isGoTestEvent = (v: unknown): v is GoTestEvent => isRecord(v) && typeof v.Action === "string";

/**
 * `go test -json -count=1 ARGS` in a module directory of this repository; its events, parsed. A failing test is a
 * result (exit 1), not a tool error; anything else (a build failure) is a ToolError.
 */
export async function goTestJson(
  dir: string,
  args: readonly string[],
  opts: { env: Env; timeoutMs?: number },
): Promise<{ events: GoTestEvent[]; exitCode: number; stderr: string }> {
  const r = await run("go", ["test", "-json", "-count=1", ...args], {
    cwd: dir,
    env: { ...opts.env, GOFLAGS: OWN_MODULE_GOFLAGS },
    timeoutMs: opts.timeoutMs ?? 60 * 60_000,
    okExitCodes: [1],
    installHint: hint,
  });
  const events: GoTestEvent[] = [];
  for (const line of r.stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    const event: unknown = JSON.parse(line);
    if (isGoTestEvent(event)) events.push(event);
  }
  return { events, exitCode: r.exitCode, stderr: r.stderr };
}

/** What `go mod edit -json` says of a go.mod (the parts the control-plane build reads). */
export interface GoModJson {
  Require?: { Path: string; Version: string }[];
  Replace?: { Old: { Path: string; Version?: string }; New: { Path: string; Version?: string } }[];
}

export async function goModJson(dir: string): Promise<GoModJson> {
  const { stdout } = await run("go", ["mod", "edit", "-json"], { cwd: dir, timeoutMs: 60_000, installHint: hint });
  const json: unknown = JSON.parse(stdout);
  const list = (key: string): unknown[] | undefined => {
    const v = get(json, key);
    return Array.isArray(v) ? v : undefined;
  };
  const modulePath = (v: unknown): { Path: string; Version?: string } | undefined =>
    isRecord(v) && typeof v.Path === "string"
      ? { Path: v.Path, ...(typeof v.Version === "string" ? { Version: v.Version } : {}) }
      : undefined;
  const requires = list("Require")?.flatMap((r) => {
    const m = modulePath(r);
    return m?.Version === undefined ? [] : [{ Path: m.Path, Version: m.Version }];
  });
  const replaces = list("Replace")?.flatMap((r) => {
    const [Old, New] = [modulePath(get(r, "Old")), modulePath(get(r, "New"))];
    return Old && New ? [{ Old, New }] : [];
  });
  return { ...(requires ? { Require: requires } : {}), ...(replaces ? { Replace: replaces } : {}) };
}
