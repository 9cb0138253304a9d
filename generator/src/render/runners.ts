/**
 * The external programs validate runs, passed in as one object (`ValidateOptions.runners`): the stages call these,
 * never the tools/ modules directly, so selection, sharding and caching are tested with stand-ins
 * (generator/test/validate-stages.test.ts) and without binaries. `identity` says what each program's results
 * depend on besides their input (the binary, its schemas or CRDs): the cache keys of render/cache.ts.
 */
import path from "node:path";
import { KUBECONFORM_DIR, schemaLocation } from "../schemas/layout.js";
import { admissionBinary, admit, ADMISSION_CRDS, type Admit } from "../tools/admission.js";
import { kubeconform, type KubeconformOptions, type KubeconformVerdict } from "../tools/kubeconform.js";
import { kubectlValidate, NATIVE_SCHEMA_VERSION, type KubectlValidateStatus } from "../tools/kubectl-validate.js";
import { kustomizeBuild } from "../tools/kustomize.js";
import { CRDS_DIR, resolveTool } from "../tools/resolve.js";
import { TOOL_ROOT } from "../pins/versions.js";
import { binaryIdentity, treeDigest } from "./cache.js";
import { renderClusters } from "./render.js";

export interface Runners {
  /** Many clusters per kustomize process (render/render.ts). */
  renderClusters: typeof renderClusters;
  /** `kustomize build <dir>` of one folder (management/sync, management/providers). */
  kustomizeBuild: (root: string, dir: string) => Promise<string>;
  kubeconform: (files: readonly string[], opts: KubeconformOptions) => Promise<KubeconformVerdict[]>;
  kubectlValidate: (
    files: readonly string[],
    opts: { cwd: string },
  ) => Promise<Record<string, KubectlValidateStatus[]>>;
  admit: Admit;
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

/** The pinned programs of .tools/bin (tools/*.ts). Identities are computed once, when the cache first asks. */
export function toolRunners(): Runners {
  const location = schemaLocation(TOOL_ROOT);
  return {
    renderClusters,
    kustomizeBuild,
    kubeconform,
    kubectlValidate,
    admit,
    schemaLocation: location,
    identity: {
      render: memo(() => binaryIdentity(resolveTool("kustomize"))),
      kubeconform: memo(() =>
        JSON.stringify([
          binaryIdentity(resolveTool("kubeconform")),
          treeDigest(path.join(TOOL_ROOT, KUBECONFORM_DIR)),
          location,
          "-strict",
          "verdicts",
        ]),
      ),
      cel: memo(() =>
        JSON.stringify([binaryIdentity(resolveTool("kubectl-validate")), treeDigest(CRDS_DIR), NATIVE_SCHEMA_VERSION]),
      ),
      admission: memo(() =>
        JSON.stringify([
          binaryIdentity(admissionBinary()),
          ...ADMISSION_CRDS.map((d) => treeDigest(path.join(CRDS_DIR, d))),
        ]),
      ),
    },
  };
}
