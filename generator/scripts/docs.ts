/**
 * `npm run docs`: rewrites README.md's generated parts in place — the rule table between the rules:begin and
 * rules:end markers (validate/registry.ts `rulesReadme`) and the section "What a cluster layer may add"
 * (validate/user-layer.ts `userLayerReadme`). generator/test/rule-registry.test.ts and user-layer.test.ts fail while
 * README differs from them.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { rulesReadme } from "../src/validate/registry.js";
import { userLayerReadme } from "../src/validate/user-layer.js";

const README = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "README.md");
const BEGIN = "<!-- rules:begin -->\n";
const END = "\n<!-- rules:end -->";
const USER_LAYER_HEADING = "## What a cluster layer may add";

/** `text` with the part from `start` up to (not including) `end` replaced by `by`; throws when a marker is absent. */
function replaceBetween(text: string, start: number, end: number, by: string, what: string): string {
  if (start < 0 || end < start) throw new Error(`README.md: cannot find ${what}`);
  return text.slice(0, start) + by + text.slice(end);
}

const before = await readFile(README, "utf8");
const rulesStart = before.indexOf(BEGIN);
const withRules = replaceBetween(
  before,
  rulesStart < 0 ? -1 : rulesStart + BEGIN.length,
  before.indexOf(END, rulesStart),
  rulesReadme(),
  "the rules:begin and rules:end markers",
);
const sectionStart = withRules.indexOf(USER_LAYER_HEADING);
const nextHeading = withRules.indexOf("\n## ", sectionStart + 5);
const after = replaceBetween(
  withRules,
  sectionStart,
  nextHeading < 0 ? -1 : nextHeading + 1,
  userLayerReadme(),
  `the section "${USER_LAYER_HEADING.slice(3)}" and the heading after it`,
);
if (after === before) console.log("README.md is up to date");
else {
  await writeFile(README, after);
  console.log("README.md: generated parts rewritten");
}
