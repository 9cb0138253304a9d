/**
 * What a rule is: an id, its severity, the fields of other objects it reads, one line of documentation, and (for the
 * rules that run one by one over a cluster) its check. core/rules.ts holds every rule once; a finding's
 * `rule` is always the id of a registered rule, so a typo in a rule id is a type error.
 */
import type { Finding, Severity } from "../core/findings.js";
import { RULES, type RuleId, type RuleSpec } from "../core/rules.js";
import type { K8sObject } from "../k8s/object.js";
import type { RenderedCluster } from "../render/render.js";

/** A rule with its id and a check over a context `C` that reports through the context. */
export interface Rule<Id extends string, C> extends RuleSpec {
  readonly id: Id;
  readonly check: (ctx: C) => void;
}

/**
 * The severity of a finding of a rule: the rule's own when it has one, else the one the check chose. A check that
 * chooses another severity than its rule's, or none where the rule has none, is a defect of the rule code.
 */
export function severityOf(spec: RuleSpec, chosen?: Severity): Severity {
  if (spec.severity === "by profile" || spec.severity === "by context") {
    if (chosen === undefined) throw new Error(`a rule whose severity is ${spec.severity} must choose one per finding`);
    return chosen;
  }
  if (chosen !== undefined && chosen !== spec.severity)
    throw new Error(`a ${spec.severity} rule reported a finding as ${chosen}`);
  return spec.severity;
}

/** A registered rule with its check: the id's severity, inputs and docs from the registry. */
export const defineRule = <C>(id: RuleId, check: (ctx: C) => void): Rule<RuleId, C> => ({ id, ...RULES[id], check });

/** A finding of a registered rule, at `where` (its keys first, in their order: the JSON output keeps them). */
export function finding(
  rule: RuleId,
  where: Pick<Finding, "cluster" | "file" | "path">,
  message: string,
  severity?: Severity,
): Finding {
  return { ...where, rule, severity: severityOf(RULES[rule], severity), message };
}

/** How a per-object check reports: the object, the field path in it, the message, a severity where the rule lets it. */
export type ObjectReport = (o: K8sObject, path: string, message: string, severity?: Severity) => void;

/**
 * The `report` of a rule run over one rendered cluster: a finding at `<Kind>/<name>:<path>`, in the file the object
 * came from (its origin; `file` when the render does not say), pushed to `findings`.
 */
const objectReporter =
  (rule: RuleId, rc: RenderedCluster, file: string, findings: Finding[]): ObjectReport =>
  (o, p, message, severity) => {
    const at = `${o.kind}/${String(o.metadata?.name)}:${p}`;
    const origin = rc.origins[rc.objects.indexOf(o)] ?? file;
    findings.push(finding(rule, { cluster: rc.cluster, file: origin, path: at }, message, severity));
  };

/**
 * Runs per-object rules over one rendered cluster: each rule's check gets `input` and a reporter under its own id
 * (objectReporter); the findings of all of them, in rule order.
 */
export function runObjectRules<I extends object>(
  rules: readonly Rule<RuleId, NoInfer<I> & { report: ObjectReport }>[],
  rc: RenderedCluster,
  file: string,
  input: I,
): Finding[] {
  const findings: Finding[] = [];
  for (const rule of rules) rule.check({ ...input, report: objectReporter(rule.id, rc, file, findings) });
  return findings;
}
