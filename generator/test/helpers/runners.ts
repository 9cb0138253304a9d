/**
 * Stand-ins for two programs validate runs after the render (render/runners.ts): the admission program and
 * kubectl-validate (CEL), which load the CRDs and webhooks at every start (≈ 0.7 s of CPU each) and are started by
 * every `validate`, `new-cluster`, `upgrade` and `import` of a test repository. A stand-in
 * accepts everything, so it is only for tests whose assertions do not depend on what these programs say: a test of
 * the flags, the git flow, the plan or the messages of our own rules. Their verdicts are tested with the real programs
 * in admission-layer, admission-parity, admission-update, cache, e2e-shapes, health-tool and the bad-input corpus.
 * kustomize, kubeconform and capi-gitops-health stay real: our own rules read the render, and the others are cheap.
 */
import { createContext, type Context } from "../../src/render/context.js";
import { toolRunners, type Runners } from "../../src/render/runners.js";
import type { AdmissionResult } from "../../src/tools/admission.js";
import { isRecord } from "../../src/k8s/object.js";
import type { KubectlValidateStatus } from "../../src/tools/kubectl-validate.js";
import { readFile } from "node:fs/promises";

/** The admission program's answer for an object it admits unchanged (the input is JSON lines, one per object). */
export const admittedUnchanged = (line: string): AdmissionResult => {
  const o: unknown = JSON.parse(line);
  if (!isRecord(o) || typeof o.apiVersion !== "string" || typeof o.kind !== "string" || !isRecord(o.metadata))
    throw new Error(`stand-in admission: not an object: ${line.slice(0, 200)}`);
  const { namespace, name } = o.metadata;
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    namespace: typeof namespace === "string" ? namespace : "",
    name: typeof name === "string" ? name : "",
    cluster: "",
    file: "",
    operation: "CREATE",
    allowed: true,
    stage: "webhook",
    messages: [],
  };
};

/** kubectl-validate's answer for a file it accepts: Success for each document (schema-layers joins them with ---). */
const accepted = async (file: string): Promise<KubectlValidateStatus[]> =>
  (await readFile(file, "utf8"))
    .split("\n---\n")
    .filter((d) => d.trim() !== "")
    .map(() => ({ status: "Success" }));

/** `runners` with the admission program and kubectl-validate replaced by stand-ins. */
function withStandIns(runners: Runners): Runners {
  return {
    ...runners,
    admit: (input) =>
      Promise.resolve(
        input
          .split("\n")
          .filter((l) => l.trim() !== "")
          .map(admittedUnchanged),
      ),
    kubectlValidate: async (files) => {
      const out: Record<string, KubectlValidateStatus[]> = {};
      for (const f of files) out[f] = await accepted(f);
      return out;
    },
    // Their own identities: the cache keys of their layers and of the kept verdicts (workflows/validate.ts), which
    // a real run of the same file then never reads.
    identity: { ...runners.identity, cel: () => "stand-in", admission: () => "stand-in" },
  };
}

/** The context of a CLI run (cli.ts `run`) in this process's environment, with the stand-ins. */
export function standInContext(env: NodeJS.ProcessEnv = process.env): Context {
  const ctx = createContext(env);
  return { ...ctx, runners: withStandIns(ctx.runners) };
}

/** The pinned programs with the stand-ins, for `ValidateOptions.runners` (a run with them keeps no verdict). */
export const standInRunners = (): Runners => withStandIns(toolRunners());
