/**
 * `npm run e2e -- --build-only`: builds what a run needs and compiles the Go suite, applies nothing (`.ci/run` runs it
 * before it starts `npm test`, the end-to-end run and the end-to-end files side by side). The real build needs the
 * control plane `npm run e2e` built (at its pins, so only the suite's compile runs): skipped without it.
 */
import { describe, expect, it } from "vitest";
import { controlPlaneInstalled, E2E_BINARIES } from "../src/tools/control-plane.js";
import { runCli } from "./helpers.js";

describe("npm run e2e -- --build-only", () => {
  it.each([["--plant", "failure-domain"], ["--no-fixtures"], ["--write-health-table"], ["--input-only", "/tmp/x"]])(
    "with %s is a usage error (exit 2) that names the flag, and builds nothing",
    async (...flag) => {
      const r = await runCli(["e2e", "--build-only", ...flag]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(`--build-only runs nothing, so ${flag[0]} cannot go with it`);
      expect(r.stdout).toBe("");
    },
  );

  it.skipIf(!controlPlaneInstalled())(
    "finds the programs at their pins, compiles the Go suite and stops: no check runs",
    async () => {
      const r = await runCli(["e2e", "--build-only"]);
      expect(r.exitCode, r.stderr).toBe(0);
      for (const name of E2E_BINARIES) expect(r.stdout).toMatch(new RegExp(`^${name}: (.* already in|built) `, "m"));
      expect(r.stdout).toMatch(/^e2e: the Go suite compiled in \d+ s; nothing was applied$/m);
      expect(r.stdout).not.toMatch(/passed, \d+ failed/);
    },
    900_000,
  );
});
