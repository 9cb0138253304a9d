import { defineConfig } from "vitest/config";

// The end-to-end files run against the control plane `npm run e2e` builds (etcd, kube-apiserver, the box's
// controllers): project "e2e" (`npm run test:e2e`). Every other file is project "unit" (`npm test`).
const E2E = "generator/test/e2e-*.test.ts";

export default defineConfig({
  test: {
    // One validate cache folder for the run (CAPI_GITOPS_CACHE_DIR), made and removed by global-setup.ts.
    globalSetup: ["generator/test/global-setup.ts"],
    setupFiles: ["generator/test/setup.ts"],
    // Hang guards, not speed goals (those are in `npm run bench`): CI runs `npm test` beside the two end-to-end jobs
    // on two cores, where a corpus case that takes seconds alone once passed 60 s. A test or hook that needs longer
    // says so.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["generator/test/**/*.test.ts"],
          exclude: [E2E],
          // Two files at a time even on two cores (vitest's default there is one): a file spends much of its time
          // waiting on kustomize, kubeconform and the admission program. Files share their worker's modules (no
          // isolation): each file loading the generator again cost more CPU than most files' tests, and what the
          // process keeps (the checked binaries, the parsed add-on payloads) is keyed by what it depends on. A test
          // that changes process.env or the cache folder restores it (setup.ts gives each file its own cache).
          maxWorkers: 2,
          isolate: false,
        },
      },
      // One file at a time: each starts its own control plane.
      { extends: true, test: { name: "e2e", include: [E2E], maxWorkers: 1 } },
    ],
  },
});
