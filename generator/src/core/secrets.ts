/** Credential patterns searched in specs and in everything rendered. */
/**
 * A URL carrying a credential: any userinfo over http(s) (`https://token@…`, `https://user:token@…`), a password
 * over any other scheme. The SSH user of `ssh://git@…` or `git@host:…` is no secret.
 */
export const URL_CREDENTIAL = /\bhttps?:\/\/[^\s/?#@"'`]+@|\b[a-z][a-z0-9+.-]*:\/\/[^\s/?#@:"'`]+:[^\s/?#@"'`]*@/i;

/**
 * AWS access key ids, secret-key assignments, PEM private keys, and the common tokens whose shape their issuers
 * publish: GitHub (`ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` + 36 characters, `github_pat_`), Slack (`xoxb-`, `xoxp-`, …),
 * GitLab (`glpat-`).
 */
export const SECRET_PATTERNS: [RegExp, string][] = [
  [/\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/, "an AWS access key id"],
  // The value: AWS secret keys are 40 base64 characters (not a `${VAR}` placeholder); a quote may close the key (JSON).
  [/aws_secret_access_key["']?\s*[:=]\s*["']?[A-Za-z0-9/+]{20,}/i, "an AWS secret access key"],
  // The same value under the other names it goes by (secretAccessKey, AWS_SECRET_KEY, aws-secret-key, …).
  [
    /\b(?:aws[_-]?)?secret[_-]?(?:access[_-]?)?key["']?\s*[:=]\s*["']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])/i,
    "an AWS secret access key",
  ],
  [/\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{22,}/, "a GitHub token"],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}/, "a Slack token"],
  [/\bglpat-[A-Za-z0-9_-]{20,}/, "a GitLab token"],
  [/-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/, "a private key"],
  [
    URL_CREDENTIAL,
    "a URL with credentials (user:token@host); keep the URL without them and put credentials in a Secret",
  ],
];

/**
 * Text every match of a pattern contains: the pattern is not tried on a text without it (the URL pattern tries a
 * scheme at every word boundary: the most expensive search over the add-on payloads).
 */
const NEEDS = new Map<RegExp, string[]>([[URL_CREDENTIAL, ["://", "@"]]]);

export function findSecrets(text: string): string | undefined {
  return SECRET_PATTERNS.find(([re]) => (NEEDS.get(re) ?? []).every((n) => text.includes(n)) && re.test(text))?.[1];
}

/**
 * Where in an object a credential is: the first string field (as `key: value`, so a key stays next to its value)
 * whose text holds one, with its path (`data.token`, `spec.files[0].content`); path "" when only the whole object's
 * text matches (a pattern across fields).
 */
export function findSecretField(o: unknown, whole: string): { what: string; path: string } | undefined {
  // Each field's `key: value\n` text is part of `whole` (the caller's text of every field), starting at a line
  // start and ending with its line break, so a field's match is a match in the whole: without one, no field has one.
  const what = findSecrets(whole);
  if (what === undefined) return undefined;
  const walk = (v: unknown, at: string, key: string): { what: string; path: string } | undefined => {
    if (typeof v === "string") {
      const what = findSecrets(`${key}: ${v}\n`);
      return what ? { what, path: at } : undefined;
    }
    if (v === null || typeof v !== "object") return undefined;
    for (const [k, x] of Object.entries(v)) {
      const found = walk(x, Array.isArray(v) ? `${at}[${k}]` : at ? `${at}.${k}` : k, Array.isArray(v) ? key : k);
      if (found) return found;
    }
    return undefined;
  };
  return walk(o, "", "") ?? { what, path: "" };
}
