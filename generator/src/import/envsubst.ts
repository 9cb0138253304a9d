/**
 * clusterctl's variable syntax, as `clusterctl generate cluster` substitutes it in a provider's template (it uses
 * drone/envsubst; this is the subset CAPA's templates use): `${VAR}`, `${VAR:-default}` / `${VAR:=default}` (the
 * default when VAR is unset or empty), `${VAR-default}` / `${VAR=default}` (the default when VAR is unset), and `$$`
 * for a literal `$` (Flatcar's `$${COREOS_EC2_HOSTNAME}` is substituted on the node at boot, not here). Pure.
 */
const VARIABLE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-=])([^}]*))?\}/g;

export interface Substituted {
  text: string;
  /** Variables used without a value or a default, in order of first use, each once. */
  unresolved: string[];
}

export function envsubst(text: string, vars: Readonly<Record<string, string | undefined>>): Substituted {
  const unresolved: string[] = [];
  const out = text.replace(VARIABLE, (m, name?: string, op?: string, def?: string) => {
    if (name === undefined) return "$";
    const v = vars[name];
    if (v !== undefined && !(v === "" && op?.startsWith(":"))) return v;
    if (op !== undefined) return def ?? "";
    if (!unresolved.includes(name)) unresolved.push(name);
    return m;
  });
  return { text: out, unresolved };
}
