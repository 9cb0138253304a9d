/**
 * Issue 20 item 1 and issue 19 item 10: addons/ is checked against addons.lock.json (not against itself), the plan
 * cache is keyed on the payloads, and every image of every payload is pinned by tag or digest and listed in
 * versions.json. The corpus (corpus.test.ts, block "h-addons") runs validate on a hand-edited payload, cold and warm.
 */
import { cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { addonLock, addonLockFindings, type LockCheck, pinsDigest } from "../src/plan/addons-lock.js";
import { containerImages, isPinnedImage, payloadImageFindings } from "../src/plan/addons-payload.js";
import { generatorIdentity } from "../src/validate/drift.js";
import { ADDONS_STORE, readAddonLock, readAddonPayloads, versions } from "../src/pins/versions.js";
import { parseYamlStream } from "../src/core/yaml.js";
import { tempDir } from "./helpers.js";

const pins = versions().addons;
const files = { "addons/a/v1/a.yaml": "kind: A\n", "addons/a/v1/kustomization.yaml": "kind: Kustomization\n" };
const check = (f: Record<string, string>, complete = true): LockCheck => ({
  whose: "the repository's",
  files: Object.fromEntries(Object.entries(f).map(([p, content]) => [p, { file: p, content }])),
  complete,
});
const said = (fs: { file?: string; rule: string; message: string }[]) =>
  fs.map((f) => `${f.rule} ${f.file}: ${f.message}`);

describe("addons.lock.json", () => {
  it("accepts the files it was written from, and names each file that differs, is extra or is missing", () => {
    const lock = addonLock(pins, files);
    expect(addonLockFindings(lock, pins, [check(files)])).toEqual([]);
    const edited = { ...files, "addons/a/v1/a.yaml": "kind: A\nimage: evil.example.com/a:latest\n" };
    expect(said(addonLockFindings(lock, pins, [check(edited)]))).toEqual([
      expect.stringMatching(
        new RegExp(
          String.raw`^addons-integrity addons/a/v1/a\.yaml: the repository's copy differs from the content pinned in ` +
            String.raw`addons\.lock\.json`,
        ),
      ),
    ]);
    expect(said(addonLockFindings(lock, pins, [check({ ...files, "addons/a/v1/b.yaml": "x" })]))).toEqual([
      expect.stringMatching(/^addons-integrity addons\/a\/v1\/b\.yaml: .*does not pin/),
    ]);
    const { "addons/a/v1/a.yaml": _gone, ...fewer } = files;
    expect(said(addonLockFindings(lock, pins, [check(fewer)]))).toEqual([
      expect.stringMatching(/^addons-integrity addons\/a\/v1\/a\.yaml: .*lacks this file/),
    ]);
    // A repository copy may lack files (drift reports a missing generated file); the tool's store may not.
    expect(addonLockFindings(lock, pins, [check(fewer, false)])).toEqual([]);
  });
  it("a lock written for other pins, or no lock, is an error (never a silent pass)", () => {
    const lock = addonLock({ ...pins, cilium: { ...pins.cilium, version: "v9.9.9" } }, files);
    expect(said(addonLockFindings(lock, pins, [check(files)]))).toEqual([
      expect.stringMatching(/^addons-integrity versions\.json: the add-on pins changed/),
    ]);
    expect(said(addonLockFindings(undefined, pins, [check(files)]))).toEqual([
      expect.stringMatching(/^addons-integrity addons\.lock\.json: is missing/),
    ]);
  });
  it("the committed lock pins exactly this checkout's addons/ and versions.json", () => {
    const lock = readAddonLock();
    expect(lock?.pins).toBe(pinsDigest(pins));
    expect(addonLockFindings(lock, pins, [check(readAddonPayloads())])).toEqual([]);
  });
});

describe("the plan cache key", () => {
  it("changes with any payload under addons/ (a cache made from other payloads never matches)", async () => {
    const before = generatorIdentity();
    // The identity reads the store from disk: the same bytes give the same key, an edit another one.
    expect(generatorIdentity()).toBe(before);
    const t = await tempDir();
    try {
      const copy = path.join(t.dir, "addons");
      await cp(ADDONS_STORE, copy, { recursive: true });
      const a = generatorIdentity({ store: copy });
      const file = path.join(copy, "cilium", pins.cilium.version, "cilium.yaml");
      await writeFile(
        file,
        (await readFile(file, "utf8")).replace("quay.io/cilium/cilium:", "evil.example.com/cilium:"),
      );
      expect(generatorIdentity({ store: copy })).not.toBe(a);
    } finally {
      await t.cleanup();
    }
  });
});

describe("every image of every payload", () => {
  it("is pinned by tag or digest and listed in versions.json (the CCM's: image + byMinor)", () => {
    const payloads = versions().addonPayloads ?? {};
    const named = Object.fromEntries(Object.entries(payloads).map(([p, content]) => [p, { file: p, content }]));
    expect(payloadImageFindings(named, pins, "the tool's")).toEqual([]);
    expect(
      Object.entries(payloads).flatMap(([, text]) => containerImages(parseYamlStream(text))).length,
    ).toBeGreaterThan(20);
  });
  it(`fix-a: an edited image, an unpinned one, a file of no add-on: each an error naming the file \
(whatever the lock says)`, () => {
    const file = `addons/cilium/${pins.cilium.version}/cilium.yaml`;
    const text = versions().addonPayloads?.[file] ?? "";
    expect(text).toContain("quay.io/cilium/cilium:");
    const one = (p: string, content: string) =>
      said(payloadImageFindings({ [p]: { file: p, content } }, pins, "the repository's"));
    expect(one(file, text.replace(/quay\.io\/cilium\/cilium:[^\s"]+/, "evil.example.com/cilium:latest"))).toEqual([
      expect.stringMatching(
        new RegExp(
          String.raw`^addons-images addons/cilium/.*: the repository's copy: images evil\.example\.com/cilium:latest ` +
            String.raw`are not listed in versions\.json addons\.images\.cilium`,
        ),
      ),
      expect.stringMatching(/pinned by neither tag nor digest/),
    ]);
    expect(one(file, "kind: Pod\nspec: {containers: [{name: x, image: evil.example.com/x:1}]}\n")).toEqual([
      expect.stringMatching(/evil\.example\.com\/x:1 are not listed/),
    ]);
    expect(one("addons/evil/v1/evil.yaml", "kind: X\n")).toEqual([
      expect.stringMatching(/belongs to no add-on version/),
    ]);
  });
  it("tag or digest: what counts as pinned", () => {
    expect(
      ["a/b:v1.2.3", "host:5000/a/b:v1", `a/b@sha256:${"0".repeat(64)}`, `a/b:v1@sha256:${"f".repeat(64)}`].filter(
        isPinnedImage,
      ),
    ).toHaveLength(4);
    expect(["a/b", "a/b:latest", "host:5000/a/b", "a/b@sha256:abc"].filter(isPinnedImage)).toEqual([]);
  });
});
