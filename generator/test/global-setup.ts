/**
 * Runs once before the test files (vitest globalSetup): one validate cache folder for the whole run, removed at the
 * end. Every file uses it (setup.ts), so a program's result for the same input — the add-on payloads and the
 * management charts every temporary repository carries — is computed once per run, not once per repository
 * (render/cache.ts keeps such results for every repository). No test reads the user's ~/.cache/capi-gitops; a test
 * that needs a fresh cache sets its own (cache.test.ts, shard.test.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    cacheRoot: string;
  }
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(path.join(os.tmpdir(), "capi-gitops-test-cache-"));
  project.provide("cacheRoot", dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
