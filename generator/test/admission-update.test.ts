/**
 * `validate --changed-since <ref>`: the upstream admission layer admits the changed clusters as UPDATE against
 * their render at <ref> (immutable fields, e.g. the AWSCluster region: CAPA webhooks/awscluster_webhook.go
 * ValidateUpdate; AWSMachineTemplate spec: webhooks/awsmachinetemplate_webhook.go). The same change on a fresh
 * validate (CREATE) passes the admission layer.
 * Needs the admission binary: .tools/bin (npm run setup) or CAPI_GITOPS_CAPI_GITOPS_ADMISSION.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newClusterCommand } from "../src/commands/new-cluster.js";
import { validateCommand } from "../src/commands/validate.js";
import { tempDir } from "./helpers.js";
import { commitAll, git, initRepo } from "./helpers/repo.js";

/**
 * The cluster alpha (its own images) in `dir`, committed to a new repository at `root`; then, uncommitted, a user
 * patch that changes an immutable field of the AWSMachineTemplate (its spec) in place.
 */
async function committedAlphaThenPatched(root: string, dir = root): Promise<void> {
  await newClusterCommand({
    cwd: dir,
    log: () => {},
    flags: { name: "alpha", region: "ap-northeast-2", imageLookupOrg: "123456789012" },
    render: false,
  });
  await initRepo(root);
  await commitAll(root, "alpha");
  const k = {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: ["generated"],
    patches: [
      {
        target: { kind: "AWSMachineTemplate" },
        patch: JSON.stringify([{ op: "replace", path: "/spec/template/spec/instanceType", value: "m6i.2xlarge" }]),
      },
    ],
  };
  await writeFile(path.join(dir, "clusters/alpha/kustomization.yaml"), JSON.stringify(k, null, 2));
}

let repo: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  const t = await tempDir("capi-gitops-update-");
  repo = t.dir;
  cleanup = t.cleanup;
  await committedAlphaThenPatched(repo);
});
afterAll(async () => cleanup?.());

describe("UPDATE admission with --changed-since", () => {
  it("an in-place change of an immutable AWSMachineTemplate spec is denied as UPDATE", async () => {
    const r = await validateCommand({ cwd: repo, changedSince: "HEAD", cache: false });
    const hit = r.findings.find((f) => f.rule.startsWith("admission/") && f.path?.startsWith("AWSMachineTemplate/"));
    expect(hit, JSON.stringify(r.findings, null, 1)).toMatchObject({ cluster: "alpha", severity: "error" });
    expect(hit!.message).toMatch(/immutable/);
  });
  it(`in a repository that is a sub-directory of the git repository too; \
the git repository is left as it was`, async () => {
    const t = await tempDir("capi-gitops-update-sub-");
    try {
      const sub = path.join(t.dir, "infra");
      await mkdir(sub);
      await committedAlphaThenPatched(t.dir, sub);
      const g = (...args: string[]) => git(t.dir, ...args);
      const before = [
        await g("status", "--porcelain"),
        await g("worktree", "list"),
        await g("config", "--list", "--local"),
      ];
      const r = await validateCommand({ cwd: sub, changedSince: "HEAD", cache: false });
      expect(
        r.findings.find((f) => f.rule.startsWith("admission/") && f.path?.startsWith("AWSMachineTemplate/"))?.message,
      ).toMatch(/immutable/);
      expect([
        await g("status", "--porcelain"),
        await g("worktree", "list"),
        await g("config", "--list", "--local"),
      ]).toEqual(before);
    } finally {
      await t.cleanup();
    }
  });
  it("the same render on CREATE (no --changed-since) is admitted", async () => {
    const r = await validateCommand({ cwd: repo, cache: false });
    expect(r.findings.filter((f) => f.rule.startsWith("admission/"))).toEqual([]);
  });
});
