import { defineConfig } from "vitest/config";

// The end-to-end files run against the control plane `npm run e2e` builds (etcd, kube-apiserver, the box's
// controllers): project "e2e" (`npm run test:e2e`). Every other file is project "unit" (`npm test`).
const E2E = "generator/test/e2e-*.test.ts";

export default defineConfig({
  test: {
    // Every test file gets its own validate cache folder (CAPI_GITOPS_CACHE_DIR).
    setupFiles: ["generator/test/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["generator/test/**/*.test.ts"],
          exclude: [E2E],
          // Two files at a time even on two cores (vitest's default there is one): a file spends much of its time
          // waiting on kustomize, kubeconform and the admission program. Each file isolated: some tests point the
          // tool variables (CAPI_GITOPS_KUSTOMIZE, …) at temporary copies for a while, and a file sharing their
          // process then ran the copy after it was gone (14 failures in a run of eight files without isolation).
          maxWorkers: 2,
        },
      },
      // One file at a time: each starts its own control plane.
      { extends: true, test: { name: "e2e", include: [E2E], maxWorkers: 1 } },
    ],
  },
});
