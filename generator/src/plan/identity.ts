/**
 * The clusters' AWS account identities (CAPA api/v1beta2/awsidentity_types.go; docs/book/src/topics/multitenancy.md):
 * a cluster's `identity` becomes `AWSCluster.spec.identityRef` to a cluster-scoped AWSClusterRoleIdentity (a role
 * CAPA's controller assumes, chained from the controller identity "default" that CAPA creates itself with its
 * AutoControllerIdentityCreator feature gate, default on in feature/feature.go) or AWSClusterStaticIdentity (a Secret
 * of static credentials in CAPA's namespace, created outside Git). One object per distinct role or Secret, shared by
 * every cluster that names it. `allowedNamespaces` selects the namespaces labelled for it, and each cluster's own
 * Namespace object carries that label (plan/cluster.ts), so no other namespace's AWSCluster can use the account. A
 * selector rather than a list of names: the Namespace is never pruned (SYNC_SAFE) and is deleted by hand after its
 * Cluster, so a cluster removed from Git keeps the right to its account until CAPA has torn its AWS resources down —
 * a list written from the specs would drop the namespace at the merge and leave CAPA unable to assume the role
 * (session.go isClusterPermittedToUsePrincipal). Labelling a Namespace needs cluster-scoped rights, so a tenant cannot
 * grant itself an identity. They live in management/identities (IDENTITIES_DIR), synced after the
 * providers (their CRDs are CAPA's).
 */
import type { ClusterSpec, IdentitySpec } from "../cluster-spec/types.js";
import { PlanError } from "../core/errors.js";
import { IDENTITIES_DIR } from "../core/layout.js";
import { SYNC_SAFE, SYNC_WAVE } from "../core/vocabulary.js";
import { toYaml } from "../core/yaml.js";
import { API, AWS_ACCOUNT_ANNOTATION, GROUP } from "../k8s/capi.js";
import type { AWSClusterRoleIdentity, AWSClusterStaticIdentity } from "../k8s/kinds.generated.js";
import { contentHash, type OutputFile, owned } from "./files.js";

/** The prefix of the Namespace labels that let a namespace's clusters use an identity. */
const IDENTITY_LABEL_PREFIX = "identity.capi-gitops.io";

/**
 * The Namespace label that lets the namespace's clusters use the identity `name` (value "allowed"): the identity's
 * name as the label name, which is at most 63 characters (k8s.io/apimachinery IsQualifiedName); a longer one (a
 * static identity of a long Secret name) is cut and given a hash of the whole.
 */
export function identityNamespaceLabel(name: string): string {
  const short = name.length <= 63 ? name : `${name.slice(0, 54).replace(/-+$/, "")}-${contentHash(name)}`;
  return `${IDENTITY_LABEL_PREFIX}/${short}`;
}

/** The value of the identity label on a Namespace. */
export const IDENTITY_LABEL_VALUE = "allowed";
import { KUSTOMIZATION } from "./kustomize-objects.js";

/** The identity CAPA's controller runs as (api/v1beta2 AWSClusterControllerIdentityName, ControllerIdentityKind). */
export const CONTROLLER_IDENTITY = { kind: "AWSClusterControllerIdentity", name: "default" } as const;

/** The identity kinds the generator writes: the sync engine may apply exactly these in management/identities. */
export const IDENTITY_KINDS = ["AWSClusterRoleIdentity", "AWSClusterStaticIdentity"] as const;
export type IdentityKind = (typeof IDENTITY_KINDS)[number];

/** The Argo CD sync wave of the identities: after the providers (wave 3, plan/management.ts) that serve their CRDs. */
export const IDENTITIES_WAVE = 4;

/** The account of a role ARN (`arn:<partition>:iam::<account>:role/<name>`). */
export function accountOfRole(arn: string): string {
  const account = arn.split(":")[4];
  if (account === undefined || !/^[0-9]{12}$/.test(account)) throw new PlanError(`${arn} is not an IAM role ARN`);
  return account;
}

/** The AWS account a spec's identity acts in; undefined: the controller's own. */
export function identityAccount(identity: IdentitySpec | undefined): string | undefined {
  if (identity?.roleArn !== undefined) return accountOfRole(identity.roleArn);
  return identity?.account;
}

/**
 * The identity object's name, from what it points at: the same role (or Secret) is the same object whichever cluster
 * names it. A role: `<account>-<role name, lower-cased, other characters as '-'>-<hash of the ARN>` (role names are
 * case-sensitive, so the hash keeps two roles that differ in case apart); a Secret: `static-<secret name>`.
 */
export function identityRef(identity: IdentitySpec): { kind: IdentityKind; name: string } {
  if (identity.roleArn !== undefined) {
    const role = (identity.roleArn.split("/").pop() ?? "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 40);
    const name = [accountOfRole(identity.roleArn), role, contentHash(identity.roleArn)].filter(Boolean).join("-");
    return { kind: "AWSClusterRoleIdentity", name };
  }
  if (identity.secretRef !== undefined)
    return { kind: "AWSClusterStaticIdentity", name: `static-${identity.secretRef}` };
  throw new PlanError("an identity names neither roleArn nor secretRef (checkSpec refuses it; this is a bug)");
}

/** The AWSCluster patch of a spec's identity: the reference, and the account for the fleet rule and the inventory. */
export function identityClusterFields(spec: ClusterSpec): { ref?: { kind: string; name: string }; account?: string } {
  if (!spec.identity) return {};
  return { ref: identityRef(spec.identity), account: identityAccount(spec.identity) };
}

const annotations = { ...SYNC_SAFE, [SYNC_WAVE]: String(IDENTITIES_WAVE) };

/** One identity object per distinct role or Secret, allowed in the namespaces labelled for it; sorted. */
export function identityObjects(specs: readonly ClusterSpec[]): (AWSClusterRoleIdentity | AWSClusterStaticIdentity)[] {
  const byName = new Map<string, IdentitySpec>();
  for (const s of specs) if (s.identity) byName.set(identityRef(s.identity).name, s.identity);
  return [...byName.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, identity]) => {
      const allowedNamespaces = { selector: { matchLabels: { [identityNamespaceLabel(name)]: IDENTITY_LABEL_VALUE } } };
      const account = identityAccount(identity);
      const metadata = {
        name,
        annotations: { ...annotations, ...(account ? { [AWS_ACCOUNT_ANNOTATION]: account } : {}) },
      };
      if (identity.roleArn !== undefined)
        return {
          apiVersion: API.infra,
          kind: "AWSClusterRoleIdentity",
          metadata,
          spec: {
            allowedNamespaces,
            roleARN: identity.roleArn,
            // The session CloudTrail shows in the target account: which identity object assumed the role.
            sessionName: name,
            sourceIdentityRef: { ...CONTROLLER_IDENTITY },
          },
        } satisfies AWSClusterRoleIdentity;
      return {
        apiVersion: API.infra,
        kind: "AWSClusterStaticIdentity",
        metadata,
        spec: { allowedNamespaces, secretRef: identity.secretRef ?? "" },
      } satisfies AWSClusterStaticIdentity;
    });
}

/** The role ARNs CAPA's controller assumes (AWSIAMConfiguration: its sts:AssumeRole on exactly these). */
export const assumedRoles = (specs: readonly ClusterSpec[]): string[] =>
  [...new Set(specs.flatMap((s) => (s.identity?.roleArn === undefined ? [] : [s.identity.roleArn])))].sort();

/** The Secrets static identities name (in CAPA's namespace): validate refuses them in Git. */
export const staticIdentitySecrets = (specs: readonly ClusterSpec[]): string[] =>
  [...new Set(specs.flatMap((s) => (s.identity?.secretRef === undefined ? [] : [s.identity.secretRef])))].sort();

/** management/identities: the identity objects and a kustomization listing them; nothing when no cluster names one. */
export function planIdentities(specs: readonly ClusterSpec[]): OutputFile[] {
  const objects = identityObjects(specs);
  if (objects.length === 0) return [];
  const header =
    "# Generated by `npm run generate` from the clusters' `identity` fields — do not edit. The roles' trust " +
    "policies and the static identities' Secrets are created outside Git (README, Account identities).";
  return [
    owned(`${IDENTITIES_DIR}/identities.yaml`, objects.map((o) => toYaml(o)).join("---\n")),
    owned(`${IDENTITIES_DIR}/kustomization.yaml`, toYaml({ ...KUSTOMIZATION, resources: ["identities.yaml"] }, header)),
  ];
}

/** The identity kinds as Argo CD's cluster-resource whitelist and Flux's RBAC name them. */
export const IDENTITY_GROUP_KINDS = IDENTITY_KINDS.map((kind) => ({ group: GROUP.infra, kind }));
