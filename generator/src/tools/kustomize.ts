/** The kustomize binary (pinned in versions.json, built by `npm run setup`). */
import { ToolOutputError } from "../core/errors.js";
import { hasK8sHeader, type K8sObject } from "../k8s/object.js";
import { parseProgramYaml, YamlStreamError } from "../core/yaml.js";
import { checkedTool, installHint } from "./resolve.js";
import { inheritedEnv, run, type Env } from "./run.js";

/**
 * What a build runs with besides the caller's environment: no network. A build of this repository reads only files
 * in Git — remote resources are refused before any build (render/remote.ts) — so git may use no transport
 * (`GIT_ALLOW_PROTOCOL` names none that exists) and HTTP(S) goes to a closed local port (Go's
 * http.ProxyFromEnvironment, which kustomize's file loader uses): a reference the static check missed fails the
 * build instead of fetching content a pull request chose.
 */
export const OFFLINE_ENV: Readonly<Record<string, string>> = {
  GIT_ALLOW_PROTOCOL: "capi-gitops-offline",
  GIT_TERMINAL_PROMPT: "0",
  HTTP_PROXY: "http://127.0.0.1:9",
  HTTPS_PROXY: "http://127.0.0.1:9",
  http_proxy: "http://127.0.0.1:9",
  https_proxy: "http://127.0.0.1:9",
  NO_PROXY: "",
  no_proxy: "",
};

/** `kustomize build <dir>` with kustomize's default load restrictions and no network; returns the YAML stream. */
export async function kustomizeBuild(repoRoot: string, dir: string, env: Env = inheritedEnv()): Promise<string> {
  const { stdout } = await run(await checkedTool("kustomize", env), ["build", dir], {
    cwd: repoRoot,
    timeoutMs: 300_000,
    installHint: installHint("kustomize"),
    env: OFFLINE_ENV,
  });
  return stdout;
}

/**
 * kustomize's output as objects. kustomize serializes what it prints, so output that is no YAML stream means the
 * binary is broken or not kustomize: a ToolOutputError (exit 2) that says so, never a stack trace.
 */
export function parseBuildOutput(text: string, dir: string): K8sObject[] {
  const broken = (why: string) => {
    const head = text.trim().split("\n")[0]?.slice(0, 120) ?? "";
    return new ToolOutputError(
      `kustomize build ${dir} exited 0 but printed no stream of Kubernetes ` +
        `objects (${why}; it begins "${head}"): the kustomize binary is ` +
        `broken or not kustomize — run \`npm run setup\`, or point CAPI_GITOPS_KUSTOMIZE at the pinned kustomize`,
      `kustomize build ${dir}`,
    );
  };
  let docs: unknown[];
  try {
    docs = parseProgramYaml(text);
  } catch (e) {
    if (!(e instanceof YamlStreamError)) throw e;
    throw broken(e.message);
  }
  const objects = docs.filter(hasK8sHeader);
  if (objects.length < docs.length) {
    const odd = docs.findIndex((d) => !hasK8sHeader(d));
    throw broken(`document ${odd + 1} is no object with apiVersion and kind`);
  }
  return objects;
}
