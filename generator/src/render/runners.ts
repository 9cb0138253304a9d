/**
 * The external programs validate runs, passed in as one object (`ValidateOptions.runners`): the stages call these,
 * never the tools/ modules directly, so selection, sharding and caching are tested with stand-ins
 * (generator/test/validate-stages.test.ts) and without binaries. `identity` says what each program's results
 * depend on besides their input (the binary, its schemas or CRDs): the cache keys of render/cache.ts.
 */
import path from "node:path";
import { KUBECONFORM_DIR, schemaLocation } from "../schemas/layout.js";
import { admissionBinary, admit, ADMISSION_CRDS, type Admit } from "../tools/admission.js";
import { checkHealth, type HealthProblem } from "../tools/health.js";
import type { HealthChecks } from "../plan/health-checks.js";
import { kubeconform, type KubeconformOptions, type KubeconformVerdict } from "../tools/kubeconform.js";
import { kubectlValidate, NATIVE_SCHEMA_VERSION, type KubectlValidateStatus } from "../tools/kubectl-validate.js";
import { kustomizeBuild } from "../tools/kustomize.js";
import { CRDS_DIR, resolveTool } from "../tools/resolve.js";
import { inheritedEnv, type Env } from "../tools/run.js";
import { TOOL_ROOT } from "../pins/versions.js";
import { binaryIdentity, treeDigest } from "./cache.js";
import { renderClusters } from "./render.js";

export interface Runners {
  /** Many clusters per kustomize process (render/render.ts). */
  renderClusters: typeof renderClusters;
  /** `kustomize build <dir>` of one folder (management/sync, management/providers). */
  kustomizeBuild: (root: string, dir: string) => Promise<string>;
  kubeconform: (files: readonly string[], opts: KubeconformOptions) => Promise<KubeconformVerdict[]>;
  /** `groups`: the API groups of the files' objects (only their CRDs are loaded); all CRDs when absent. */
  kubectlValidate: (
    files: readonly string[],
    opts: { cwd: string; groups?: ReadonlySet<string> },
  ) => Promise<Record<string, KubectlValidateStatus[]>>;
  admit: Admit;
  /** capi-gitops-health `check`: the problems of a set of health checks (tools/health.ts). */
  checkHealth: (checks: HealthChecks) => Promise<HealthProblem[]>;
  /** The kubeconform schema-location template. */
  schemaLocation: string;
  /** What each program's results depend on (cache keys): binary, schemas or CRDs, flags, the shape stored. */
  identity: { render: () => string; kubeconform: () => string; cel: () => string; admission: () => string };
}

function memo<T>(f: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = f();
      done = true;
    }
    return value;
  };
}

/**
 * The pinned programs of .tools/bin (tools/*.ts), found in `env` (the Context's). Identities are computed once,
 * when the cache first asks.
 */
export function toolRunners(env: Env = inheritedEnv()): Runners {
  const location = schemaLocation(TOOL_ROOT);
  const identity = (tool: string) => binaryIdentity(resolveTool(tool, env), env);
  return {
    renderClusters: (root, clusters, opts) => renderClusters(root, clusters, { env, ...opts }),
    kustomizeBuild: (root, dir) => kustomizeBuild(root, dir, env),
    kubeconform: (files, opts) => kubeconform(files, { env, ...opts }),
    kubectlValidate: (files, opts) => kubectlValidate(files, { env, ...opts }),
    admit: (input, opts) => admit(input, { env, ...opts }),
    checkHealth: (checks) => checkHealth(checks, { env }),
    schemaLocation: location,
    identity: {
      render: memo(() => identity("kustomize")),
      kubeconform: memo(() =>
        JSON.stringify([
          identity("kubeconform"),
          treeDigest(path.join(TOOL_ROOT, KUBECONFORM_DIR)),
          location,
          "-strict",
          "verdicts",
        ]),
      ),
      cel: memo(() => JSON.stringify([identity("kubectl-validate"), treeDigest(CRDS_DIR), NATIVE_SCHEMA_VERSION])),
      admission: memo(() =>
        JSON.stringify([
          binaryIdentity(admissionBinary(env), env),
          ...ADMISSION_CRDS.map((d) => treeDigest(path.join(CRDS_DIR, d))),
        ]),
      ),
    },
  };
}
