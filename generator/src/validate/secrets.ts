/** Credential patterns searched in specs and in everything rendered. */
/**
 * A URL carrying a credential: any userinfo over http(s) (`https://token@…`, `https://user:token@…`), a password
 * over any other scheme. The SSH user of `ssh://git@…` or `git@host:…` is no secret.
 */
export const URL_CREDENTIAL = /\bhttps?:\/\/[^\s/?#@"'`]+@|\b[a-z][a-z0-9+.-]*:\/\/[^\s/?#@:"'`]+:[^\s/?#@"'`]*@/i;

/** AWS access key ids, secret-key assignments and PEM private keys. */
export const SECRET_PATTERNS: [RegExp, string][] = [
  [/\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/, "an AWS access key id"],
  // The value: AWS secret keys are 40 base64 characters (not a `${VAR}` placeholder); a quote may close the key (JSON).
  [/aws_secret_access_key["']?\s*[:=]\s*["']?[A-Za-z0-9/+]{20,}/i, "an AWS secret access key"],
  [/-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/, "a private key"],
  [URL_CREDENTIAL, "a URL with credentials (user:token@host); keep the URL without them and put credentials in a Secret"],
];

export function findSecrets(text: string): string | undefined {
  return SECRET_PATTERNS.find(([re]) => re.test(text))?.[1];
}

