/**
 * The repository config: capi-gitops.yaml at the repository root. Says where the repository lives and which GitOps
 * engine syncs it; `generate` writes the sync manifests under management/sync/ from it.
 */
import { type Static, Type } from "@sinclair/typebox";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { parseDocument } from "yaml";
import type { Finding } from "../core/findings.js";
import { constant, editorSchema, fillDefaults, oneOf, type WithDefaults } from "./definition.js";
import { allowedValues, thrownMessage, yamlErrorMessage } from "./parse.js";
import { ENGINE_NAMESPACES } from "./reserved.js";
import { DNS_LABEL, LIMITS } from "./types.js";
import { URL_CREDENTIAL } from "../core/secrets.js";
import { CAPI_GITOPS_API_VERSION } from "../core/vocabulary.js";

export const CONFIG_FILE = "capi-gitops.yaml";
const GITOPS_ENGINES = ["argocd", "flux"] as const;
type GitopsEngine = (typeof GITOPS_ENGINES)[number];

const NAME = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
const name = (options: { default?: string; description?: string }) =>
  Type.Optional(Type.String({ pattern: NAME, ...options }));
const DEFAULT_BRANCH = "main";
const DEFAULT_ENGINE: GitopsEngine = "argocd";
const DEFAULT_ARGO_PROJECT = "capi-clusters";
/**
 * Without `rollout` a repository has one ring: every cluster in it, synced at once as before rings existed. Rings are
 * the operator's to declare (a canary, a tenth of the fleet, the rest): a default of several would leave the first
 * rings empty and still make the sync engines wait in order.
 */
export const DEFAULT_RINGS: readonly { name: string }[] = [{ name: "main" }];

/** The one definition of capi-gitops.yaml: the `RepoConfig` type, its JSON Schema and its defaults derive from it. */
const RepoConfigDefinition = Type.Object(
  {
    apiVersion: constant(CAPI_GITOPS_API_VERSION),
    kind: constant("RepositoryConfig"),
    repoURL: Type.String({
      pattern: "^(https://|ssh://|git@)[^\\s]+$",
      description: "URL Argo CD / Flux clone this repository from.",
    }),
    branch: Type.Optional(
      Type.String({
        minLength: 1,
        pattern: "^[^\\s]+$",
        default: DEFAULT_BRANCH,
        description: `Branch that is synced. Default: ${DEFAULT_BRANCH}.`,
      }),
    ),
    gitops: Type.Optional(
      oneOf(GITOPS_ENGINES, {
        default: DEFAULT_ENGINE,
        description: `Which engine syncs the management cluster. Default: ${DEFAULT_ENGINE}.`,
      }),
    ),
    argocd: Type.Optional(
      Type.Object(
        {
          namespace: name({ default: ENGINE_NAMESPACES.argocd }),
          project: name({ default: DEFAULT_ARGO_PROJECT }),
          destinationServer: Type.Optional(
            Type.String({ pattern: "^https://", default: "https://kubernetes.default.svc" }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    flux: Type.Optional(
      Type.Object(
        {
          namespace: name({ default: ENGINE_NAMESPACES.flux }),
          gitRepository: name({ default: "capi-gitops" }),
          interval: Type.Optional(Type.String({ pattern: "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$", default: "5m" })),
          secretRef: name({
            description:
              "Name of the Secret (in the flux namespace) with git credentials; created outside this repository.",
          }),
        },
        { additionalProperties: false },
      ),
    ),
    rollout: Type.Optional(
      Type.Object(
        {
          rings: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  name: Type.String({
                    pattern: DNS_LABEL,
                    maxLength: LIMITS.ringName,
                    description:
                      "Ring name (a label value on the clusters' Applications), lowercase letters, digits and " +
                      `'-', ≤ ${LIMITS.ringName} characters.`,
                  }),
                  maxUpdate: Type.Optional(
                    Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: "^(100|[1-9]?[0-9])%$" })], {
                      description:
                        "Argo CD only: at most this many of the ring's clusters (a number, or a percentage like " +
                        "10%) sync at a time (RollingSync maxUpdate; 0 holds the ring until it is synced by " +
                        "hand). Flux applies a ring's clusters together. Default: the whole ring.",
                    }),
                  ),
                },
                { additionalProperties: false },
              ),
              {
                minItems: 1,
                maxItems: 10,
                default: DEFAULT_RINGS,
                description:
                  "The rings, in the order a change reaches them: a ring syncs only once every cluster of the " +
                  "rings before it is Available. A cluster names its ring in `rollout.ring` (default: the last). " +
                  `Default: one ring, ${DEFAULT_RINGS.map((r) => r.name).join(", ")}.`,
              },
            ),
          ),
        },
        {
          additionalProperties: false,
          description: 'Rings a change rolls through (README "Rolling a change through the fleet").',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

type RepoConfigInput = Static<typeof RepoConfigDefinition>;
/** capi-gitops.yaml after defaults; only `flux.secretRef` may be absent. */
export type RepoConfig = WithDefaults<Omit<RepoConfigInput, "argocd" | "flux" | "rollout">> & {
  argocd: WithDefaults<NonNullable<RepoConfigInput["argocd"]>>;
  flux: WithDefaults<NonNullable<RepoConfigInput["flux"]>, "secretRef">;
  rollout: WithDefaults<NonNullable<RepoConfigInput["rollout"]>>;
};
/** One ring of `rollout.rings`. */
export type Ring = RepoConfig["rollout"]["rings"][number];

export const repoConfigSchema = editorSchema(
  { $schema: "http://json-schema.org/draft-07/schema#", title: "capi-gitops repository config (capi-gitops.yaml)" },
  RepoConfigDefinition,
);

/** Compiled when first used: every command's start-up would pay for it otherwise. */
let compiled: ValidateFunction | undefined;
const configValidator = (): ValidateFunction =>
  (compiled ??= new Ajv({ allErrors: true, strict: false, verbose: true }).compile(repoConfigSchema));

/** What a failed check says, with the field and what to write instead. */
function configMessage(e: ErrorObject): { path?: string; message: string } {
  const at = e.instancePath.replace(/^\//, "").replace(/\//g, ".");
  const field = (name: string) => [at, name].filter(Boolean).join(".");
  if (e.keyword === "additionalProperties")
    return {
      path: field(String(e.params.additionalProperty)),
      message: `unknown field "${String(e.params.additionalProperty)}"`,
    };
  if (e.keyword === "required") return { path: field(String(e.params.missingProperty)), message: "is required" };
  if (e.keyword === "enum") return { path: at || undefined, message: `must be one of: ${allowedValues(e)}` };
  if (e.keyword === "const")
    return { path: at || undefined, message: `must be ${JSON.stringify(e.params.allowedValue)}` };
  if (e.keyword === "pattern")
    return { path: at || undefined, message: `${JSON.stringify(e.data)} must match ${String(e.params.pattern)}` };
  if (e.keyword === "type" && !at) return { message: "file must hold a mapping (apiVersion, kind, repoURL, …)" };
  return { path: at || undefined, message: e.message ?? "is invalid" };
}

/**
 * Argo CD's built-in project: every Application may use it; writing ours over it would change what all of them may do.
 */
const ARGO_BUILTIN_PROJECT = "default";

/** Checks beyond the schema: what Argo CD or Flux would accept but must not be written to Git. */
function configChecks(d: RepoConfig): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  if (URL_CREDENTIAL.test(d.repoURL))
    out.push({
      path: "repoURL",
      message:
        "contains credentials (user:token@ in the URL), which would be committed to Git in management/sync/; " +
        "write the URL without them and give the engine the credentials outside Git: an Argo CD repository " +
        "credential Secret (argocd.argoproj.io/secret-type: repository) or, for Flux, flux.secretRef naming " +
        "a Secret",
    });
  const seen = new Set<string>();
  d.rollout.rings.forEach((r, i) => {
    if (seen.has(r.name))
      out.push({
        path: `rollout.rings.${i}.name`,
        message: `ring "${r.name}" is declared twice; each ring has one name and one place in the order`,
      });
    seen.add(r.name);
  });
  if (d.argocd.project === ARGO_BUILTIN_PROJECT)
    out.push({
      path: "argocd.project",
      message:
        `"${ARGO_BUILTIN_PROJECT}" is Argo CD's built-in project; generating it would overwrite what every ` +
        `other Application may do. Choose another name (e.g. ${DEFAULT_ARGO_PROJECT}, the default) or remove ` +
        "the field",
    });
  return out;
}

export function parseRepoConfig(text: string): { config?: RepoConfig; findings: Finding[] } {
  const bad = (message: string, path?: string): Finding => ({
    file: CONFIG_FILE,
    path,
    rule: "repo-config",
    severity: "error",
    message,
  });
  if (Buffer.byteLength(text, "utf8") > LIMITS.specBytes)
    return { findings: [bad(`file is larger than ${LIMITS.specBytes} bytes; the repository config is a few lines`)] };
  if (text.includes("\uFFFD")) return { findings: [bad("file is not valid UTF-8")] };
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const [yamlError] = doc.errors;
  if (yamlError) return { findings: [bad(yamlErrorMessage(text, yamlError, "the repository config"))] };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 50 });
  } catch (e) {
    return { findings: [bad(`YAML aliases expand too much (${thrownMessage(e)})`)] };
  }
  const validate = configValidator();
  if (!validate(data))
    return {
      findings: (validate.errors ?? []).map((e) => {
        const { path, message } = configMessage(e);
        return bad(message, path);
      }),
    };
  const config = fillDefaults(RepoConfigDefinition, data) as RepoConfig;
  const semantic = configChecks(config);
  if (semantic.length) return { findings: semantic.map((s) => bad(s.message, s.path)) };
  return { findings: [], config };
}

/**
 * The capi-gitops.yaml `--init` starts a repository with: the given clone URL (the checkout's git remote), the other
 * fields at their defaults (branch main, Argo CD), written out so that they can be edited.
 */
export function initialConfig(repoURL: string): Record<string, unknown> {
  return {
    apiVersion: CAPI_GITOPS_API_VERSION,
    kind: "RepositoryConfig",
    repoURL,
    branch: DEFAULT_BRANCH,
    gitops: DEFAULT_ENGINE,
  };
}
