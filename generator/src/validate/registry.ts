/**
 * What derives from the rule registry (core/rules.ts): the fields of other objects a rule reads (attribution) and
 * README's rule table.
 */
import { RULES, type RuleId, type RuleInput, type RuleSpec } from "../core/rules.js";

/** The fields of other objects a finding's rule reads (none for a rule that reads none). */
export const ruleInputs = (rule: RuleId): readonly RuleInput[] => RULES[rule].inputs;

const SEVERITY_TEXT: Record<RuleSpec["severity"], string> = {
  error: "error",
  warning: "warning",
  info: "info",
  "by profile": "error (prod), warning",
  "by context": "error or warning",
};

/** README's rule table (section "Validation", between the `rules:begin` / `rules:end` markers). */
export function rulesReadme(): string {
  const rows = Object.entries(RULES).map(([id, r]: [string, RuleSpec]) => {
    const docs = r.docs.replace(/\|/g, "\\|");
    return `| \`${id}\` | ${SEVERITY_TEXT[r.severity]} | ${docs} |`;
  });
  return ["| rule | severity | what it checks |", "|---|---|---|", ...rows].join("\n");
}
