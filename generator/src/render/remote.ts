/**
 * Rule `no-remote-resource`: a kustomization a build reads names a remote target (a git repository, an HTTP(S) URL:
 * kustomize/walk.ts isRemote) in resources, bases, components, patches, generators, transformers or any other file
 * field. kustomize would fetch it while building — in CI from a pull request's content, and on the management
 * cluster by Argo CD / Flux — so what is applied is not what was reviewed, and offline it fails with a raw git
 * error. Checked statically, by walking the kustomization files (no build runs for such a cluster or folder); the
 * finding names the kustomization file and the line of the reference. kustomize itself runs offline as a second
 * guard (tools/kustomize.ts OFFLINE_ENV).
 */
import type { Finding } from "../core/findings.js";
import { dependencies, type ReadFile } from "../kustomize/walk.js";

/** The 1-based line of the first occurrence of `ref` in `text`, if any. */
function lineOf(text: string | undefined, ref: string): number | undefined {
  const i = text?.split("\n").findIndex((l) => l.includes(ref)) ?? -1;
  return i < 0 ? undefined : i + 1;
}

/** The remote references of the build of `dir` (repository-relative), each a finding on its kustomization file. */
export function remoteFindings(dir: string, read: ReadFile, cluster?: string): Finding[] {
  return dependencies(dir, read).remotes.map(({ file, ref }) => ({
    ...(cluster === undefined ? {} : { cluster }),
    file,
    line: lineOf(read(file), ref),
    rule: "no-remote-resource",
    severity: "error" as const,
    message:
      `"${ref.length > 200 ? `${ref.slice(0, 60)}…(${ref.length} characters)` : ref}" ` +
      `is a remote reference: kustomize would fetch it from the network ` +
      `while building (in CI from this change, on the management cluster ` +
      `by Argo CD / Flux), so what is applied is not what was reviewed. ` +
      `Nothing was built; copy what it provides into the repository and reference the local path`,
  }));
}
