/**
 * admission/go.mod requires exactly the CAPI and CAPA versions of versions.json (one source for the pins: a bump
 * of versions.json without the program, or the reverse, fails here). Also: `npm run setup`'s build of the program
 * is skipped when the stamp is the hash of its sources (a changed source changes the stamp, so setup rebuilds).
 */
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { admissionSourceHash, ADMISSION } from "../src/tools/admission.js";
import { buildAdmission } from "../src/commands/setup.js";
import { versions } from "../src/pins/versions.js";
import { ROOT, tempDir } from "./helpers.js";

const required = (gomod: string): Map<string, string> => {
  const out = new Map<string, string>();
  for (const m of gomod.matchAll(/^\s*(?:require\s+)?([a-z0-9.\-/]+\.[a-z]{2,}\/[^\s]+)\s+(v[^\s]+)/gm))
    out.set(m[1]!, m[2]!);
  return out;
};

describe("admission/go.mod", () => {
  it("requires exactly versions.json's cluster-api and cluster-api-provider-aws", async () => {
    const v = versions();
    expect(v.admission?.pins).toEqual(["cluster-api", "cluster-api-provider-aws"]);
    const mods = required(await readFile(path.join(ROOT, v.admission!.goMod), "utf8"));
    for (const pin of v.admission!.pins) {
      const src = v.crds[pin]!;
      expect(mods.get(src.module), `${src.module} in admission/go.mod`).toBe(src.version);
    }
  });
});

describe("setup's admission build", () => {
  it(`is skipped when the stamp matches the sources; a changed source changes the stamp, \
a changed test does not`, async () => {
    const t = await tempDir("capi-gitops-admbuild-");
    try {
      const dir = t.guard("admission");
      const bin = t.guard("bin");
      await mkdir(bin);
      await cp(path.join(ROOT, "admission"), dir, {
        recursive: true,
        filter: (src) => !src.includes("testdata") && !src.endsWith(".test"),
      });
      await writeFile(path.join(bin, `${ADMISSION}.version`), `${admissionSourceHash(dir)}\n`);
      const log: string[] = [];
      expect(await buildAdmission({ log: (l) => log.push(l), bin, dir })).toBe("current");
      const before = admissionSourceHash(dir);
      await writeFile(path.join(dir, "main.go"), `${await readFile(path.join(dir, "main.go"), "utf8")}\n// changed\n`);
      expect(admissionSourceHash(dir)).not.toBe(before);
      await writeFile(path.join(dir, "admission_test.go"), "package main\n");
      const h = admissionSourceHash(dir);
      await writeFile(path.join(dir, "admission_test.go"), "package main\n// tests do not change the binary\n");
      expect(admissionSourceHash(dir)).toBe(h);
    } finally {
      await t.cleanup();
    }
  });
});
