/**
 * Runs before every test file (vitest setupFiles): the file gets its own validate cache folder
 * (CAPI_GITOPS_CACHE_DIR, see render/cache.ts cacheRoot), so no test reads what another test or the user's
 * ~/.cache/capi-gitops holds, and child processes started by the file inherit it. A test that needs a fresh cache
 * sets its own (cache.test.ts, shard.test.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll } from "vitest";

const dir = mkdtempSync(path.join(os.tmpdir(), "capi-gitops-test-cache-"));
process.env.CAPI_GITOPS_CACHE_DIR = dir;
afterAll(() => {
  if (process.env.CAPI_GITOPS_CACHE_DIR === dir) delete process.env.CAPI_GITOPS_CACHE_DIR;
  rmSync(dir, { recursive: true, force: true });
});
