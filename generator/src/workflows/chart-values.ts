/** Checking our Helm values against a pinned chart (`addons` and `management-charts` render charts with them). */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import { PlanError } from "../core/errors.js";
import { unknownValuePaths } from "../plan/addons-payload.js";

/** Our values against the chart's values.yaml: a key it does not have is a typo (see unknownValuePaths). */
export async function checkValues(chartDir: string, values: unknown): Promise<void> {
  const defaults: unknown = parse(await readFile(path.join(chartDir, "values.yaml"), "utf8"));
  const dir = path.join(chartDir, "templates");
  const names = (await readdir(dir, { recursive: true })).filter((n) => /\.(ya?ml|tpl)$/.test(n)).sort();
  const templates = (await Promise.all(names.map((n) => readFile(path.join(dir, n), "utf8")))).join("\n");
  const unknown = unknownValuePaths(defaults, values, templates);
  if (unknown.length) throw new PlanError(`${chartDir}: values.yaml has no ${unknown.join(", ")}`);
}
