/** The Go toolchain: builds pinned tools (`go install module@version`) and fetches pinned modules (`go mod download`). */
import os from "node:os";
import { run } from "./run.js";

const hint = "install Go (https://go.dev/dl) — the setup builds kustomize and kubeconform from Go modules";

export async function goInstall(module: string, version: string, gobin: string): Promise<void> {
  await run("go", ["install", `${module}@${version}`], {
    cwd: os.tmpdir(),
    env: { ...process.env, GOBIN: gobin, GOFLAGS: "-mod=mod" },
    timeoutMs: 20 * 60_000,
    installHint: hint,
  });
}

/** Downloads module@version into the module cache and returns its directory. */
export async function goModDownload(module: string, version: string): Promise<string> {
  const { stdout } = await run("go", ["mod", "download", "-json", `${module}@${version}`], {
    cwd: os.tmpdir(),
    env: { ...process.env, GOFLAGS: "-mod=mod" },
    timeoutMs: 20 * 60_000,
    installHint: hint,
  });
  const info = JSON.parse(stdout) as { Dir?: string; Error?: string };
  if (!info.Dir) throw new Error(`go mod download ${module}@${version} returned no Dir${info.Error ? `: ${info.Error}` : ""}`);
  return info.Dir;
}

/**
 * `go build -o out .` in a module directory of this repository (the admission program): its own go.mod pins its
 * dependencies, so no @version. `nice` is the caller's business; the build can take minutes on a cold cache.
 */
export async function goBuild(dir: string, out: string, opts: { timeoutMs?: number } = {}): Promise<void> {
  await run("go", ["build", "-trimpath", "-o", out, "."], {
    cwd: dir,
    env: { ...process.env, GOFLAGS: "-mod=readonly" },
    timeoutMs: opts.timeoutMs ?? 30 * 60_000,
    installHint: hint,
  });
}
