import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["generator/test/**/*.test.ts"],
    // Every test file gets its own validate cache folder (CAPI_GITOPS_CACHE_DIR).
    setupFiles: ["generator/test/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
