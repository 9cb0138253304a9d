/**
 * The plan is pure (ARCHITECTURE.md): no file under generator/src/plan/, nor anything it imports (transitively,
 * at run time: `import type` is erased), reads files, starts processes, runs git or reads the process' state.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const SRC = path.resolve(import.meta.dirname, "../src");
const FORBIDDEN = /^(node:)?(fs|fs\/promises|child_process)$|^(execa|simple-git)$/;

/** Run-time module specifiers of a source file, and whether it uses the global `process`. */
function scan(text: string, file = "x.ts"): { imports: string[]; usesProcess: boolean } {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const imports: string[] = [];
  let usesProcess = false;
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      const c = n.importClause;
      const named = c?.namedBindings && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements : undefined;
      const typeOnly =
        !!c && (c.isTypeOnly || (!c.name && !!named && named.length > 0 && named.every((e) => e.isTypeOnly)));
      if (!typeOnly) imports.push(n.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      if (!n.isTypeOnly) imports.push(n.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(n) &&
      n.expression.kind === ts.SyntaxKind.ImportKeyword &&
      n.arguments[0] &&
      ts.isStringLiteral(n.arguments[0])
    ) {
      imports.push(n.arguments[0].text);
    } else if (ts.isIdentifier(n) && n.text === "process") {
      const p = n.parent;
      const isMemberName =
        (ts.isPropertyAccessExpression(p) && p.name === n) ||
        (ts.isQualifiedName(p) && p.right === n) ||
        ts.isPropertyAssignment(p) ||
        ts.isPropertySignature(p);
      if (!isMemberName && !ts.isTypeReferenceNode(p)) usesProcess = true;
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return { imports, usesProcess };
}

/** Files reached from `entries` through relative run-time imports, with the problems of each. */
function impurities(entries: string[]): string[] {
  const seen = new Set<string>();
  const problems: string[] = [];
  const walk = (file: string, via: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const rel = path.relative(SRC, file);
    const { imports, usesProcess } = scan(readFileSync(file, "utf8"), file);
    if (usesProcess) problems.push(`${rel} (via ${via}) uses the global process`);
    for (const spec of imports) {
      if (FORBIDDEN.test(spec)) problems.push(`${rel} (via ${via}) imports ${spec}`);
      else if (spec.startsWith(".")) walk(path.resolve(path.dirname(file), spec.replace(/\.js$/, ".ts")), via);
    }
  };
  for (const e of entries) walk(e, path.relative(SRC, e));
  return problems;
}

describe("the plan is pure", () => {
  const planFiles = readdirSync(path.join(SRC, "plan"))
    .filter((f) => f.endsWith(".ts"))
    .map((f) => path.join(SRC, "plan", f));

  it("no file of plan/ reaches fs, child_process, execa, simple-git or the global process", () => {
    expect(planFiles.length).toBeGreaterThan(5);
    expect(impurities(planFiles)).toEqual([]);
  });

  it("the importer's mapping (import/, issue 14) is pure too: the command (commands/import.ts) does its I/O", () => {
    const files = readdirSync(path.join(SRC, "import"))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => path.join(SRC, "import", f));
    expect(files.length).toBeGreaterThanOrEqual(2);
    expect(impurities(files)).toEqual([]);
  });

  it.each([
    ['import { readFileSync } from "node:fs";', "node:fs"],
    ['import fs from "fs/promises";', "fs/promises"],
    ['import { execa } from "execa";', "execa"],
    ['export { simpleGit } from "simple-git";', "simple-git"],
    ['const cp = await import("node:child_process");', "node:child_process"],
  ])("the scan sees %s", (source, spec) => {
    expect(scan(source).imports).toContain(spec);
  });

  it("the scan sees the global process, and not type-only imports", () => {
    expect(scan("const home = process.env.HOME;").usesProcess).toBe(true);
    expect(scan("const o = { process: 1 }; o.process;").usesProcess).toBe(false);
    expect(scan('import type { Stats } from "node:fs";').imports).toEqual([]);
    expect(scan('import { type Stats } from "node:fs";').imports).toEqual([]);
  });
});
