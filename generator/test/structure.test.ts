/**
 * The structure of generator/src (ARCHITECTURE.md "Layers"). The import graph, type imports included (ts.preProcessFile
 * sees `import type` too): every import goes to a folder of the same layer or one below it (ARCHITECTURE.md
 * "Layers"), and no two folders import each other, directly or around a circle.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const SRC = path.resolve(import.meta.dirname, "../src");

/** Top to bottom; the folders of one row may import each other's folders only where that makes no circle. */
export const LAYERS: readonly (readonly string[])[] = [
  ["cli"],
  ["commands"],
  ["workflows"],
  ["diff", "fleet", "e2e", "import"],
  ["validate"],
  ["render"],
  ["repo", "tools"],
  ["plan"],
  ["cluster-spec"],
  ["schemas", "kustomize", "k8s"],
  ["pins"],
  ["core"],
];

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });

/** cli.ts sits with cli/: the entry and its command table are one floor. */
const folderOf = (file: string): string => {
  const rel = path.relative(SRC, file);
  return rel.includes(path.sep) ? rel.slice(0, rel.indexOf(path.sep)) : rel.replace(/\.ts$/, "");
};

const edges = (): { from: string; to: string; file: string; spec: string }[] =>
  files(SRC).flatMap((file) =>
    ts
      .preProcessFile(readFileSync(file, "utf8"), true, true)
      .importedFiles.map((i) => i.fileName)
      .filter((spec) => spec.startsWith("."))
      .map((spec) => ({ from: folderOf(file), to: folderOf(path.resolve(path.dirname(file), spec)), file, spec }))
      .filter((e) => e.from !== e.to),
  );

const layerOf = (folder: string): number => LAYERS.findIndex((row) => row.includes(folder));

describe("layers", () => {
  it("every folder of generator/src has a layer", () => {
    const folders = [...new Set(files(SRC).map(folderOf))].sort();
    expect(folders.filter((f) => layerOf(f) < 0)).toEqual([]);
  });

  it("no import climbs a floor", () => {
    const climbing = edges()
      .filter((e) => layerOf(e.to) < layerOf(e.from))
      .map((e) => `${path.relative(SRC, e.file)} → ${e.spec}`);
    expect(climbing).toEqual([]);
  });

  it("no two folders import each other, directly or around a circle", () => {
    const graph = new Map<string, Set<string>>();
    for (const e of edges()) graph.set(e.from, (graph.get(e.from) ?? new Set()).add(e.to));
    const circles: string[] = [];
    const reach = (start: string, at: string, trail: string[], seen: Set<string>): void => {
      for (const next of graph.get(at) ?? []) {
        if (next === start) circles.push([...trail, next].join(" → "));
        else if (!seen.has(next)) reach(start, next, [...trail, next], seen.add(next));
      }
    };
    for (const folder of graph.keys()) reach(folder, folder, [folder], new Set());
    expect(circles).toEqual([]);
  });

  it("ARCHITECTURE.md lists the layers in this order", () => {
    const text = readFileSync(path.resolve(SRC, "../../ARCHITECTURE.md"), "utf8");
    const section = text.slice(text.indexOf("## Layers"));
    const positions = LAYERS.flat().map((f) => section.indexOf(`\`${f}/\``));
    expect(positions.filter((p) => p < 0).length).toBe(0);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });
});

/** The type escapes left in generator/src: `any`, `as` casts (`as const` aside) and non-null `!`, by file. */
function escapes(): { any: string[]; casts: string[]; nonNull: string[] } {
  const out = { any: [] as string[], casts: [] as string[], nonNull: [] as string[] };
  for (const file of files(SRC)) {
    const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
    const at = (n: ts.Node) =>
      `${path.relative(SRC, file)}:${source.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
    const visit = (n: ts.Node): void => {
      if (n.kind === ts.SyntaxKind.AnyKeyword) out.any.push(at(n));
      if ((ts.isAsExpression(n) || ts.isTypeAssertionExpression(n)) && n.type.getText(source) !== "const")
        out.casts.push(at(n));
      if (ts.isNonNullExpression(n)) out.nonNull.push(at(n));
      ts.forEachChild(n, visit);
    };
    visit(source);
  }
  return out;
}

describe("type escapes in generator/src", () => {
  const found = escapes();
  it("no any", () => expect(found.any).toEqual([]));
  it("fewer than 30 casts", () => expect(found.casts.length, found.casts.join("\n")).toBeLessThan(30));
  it("fewer than 30 non-null assertions", () =>
    expect(found.nonNull.length, found.nonNull.join("\n")).toBeLessThan(30));
});
