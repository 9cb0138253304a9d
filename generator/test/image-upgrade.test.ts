/**
 * Issue 19 items 1 and 2, end to end on a real temporary git repository (real kustomize, kubeconform and the upstream
 * CAPI/CAPA admission program through `validate`):
 * - a cluster whose machines cannot get an image is refused in every profile, with one line saying how to get one,
 *   and `new-cluster --dry-run` reports exactly the real run's findings; the README quick start is clean;
 * - a cluster on a fixed image (an AMI id) is never upgraded onto its old kubelet: `upgrade` refuses the step
 *   without `--image-id`, `diff` and `validate` flag a version moved under a kept image (by a patch of the cluster's
 *   own kustomization.yaml), and `upgrade` validates its result before it lands.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newClusterCommand } from "../src/commands/new-cluster.js";
import { validateCommand } from "../src/commands/validate.js";
import { runCli, treeHash } from "./helpers.js";
import { commitAll, configuredRepo, git, newClusterArgs } from "./helpers/repo.js";
import { standInContext } from "./helpers/runners.js";

const OLD = "ami-0123456789abcdef0";
const NEW = "ami-0fedcba9876543210";
let repo: string;
let cleanup: () => Promise<void>;
const g = (...args: string[]) => git(repo, ...args);
const cli = (...args: string[]) => runCli([...args, "--repo", repo]);
/**
 * `cli` with the stand-in admission program and kubectl-validate (helpers/runners.ts), where what is asserted are our
 * own image rules, or the real `validate` of the same cluster follows.
 */
const standIns = standInContext();
const cliStandIns = (...args: string[]) => runCli([...args, "--repo", repo], { ctx: standIns });
/** The findings lines of a run's output: `file:path … (rule)` without the surrounding prose. */
const findingLines = (out: string) =>
  out
    .split("\n")
    .filter((l) => /\((image-[a-z-]+|api-open-to-world)\)$/.test(l.trim()))
    .map((l) => l.trim())
    .sort();

beforeAll(async () => {
  ({ repo, cleanup } = await configuredRepo("capi-gitops-images-"));
  // tokyo: no image CAPA publishes there, so its own AMI (new-cluster states the cluster's version for it).
  await newClusterCommand({
    cwd: repo,
    flags: { name: "tokyo", region: "ap-northeast-1", imageId: OLD },
    log: () => {},
    render: false,
  });
  await commitAll(repo, "tokyo");
});
afterAll(async () => cleanup?.());

describe("a cluster whose machines cannot get an image (issue 19 item 1)", () => {
  it("is refused in every profile with the one-line way out, and --dry-run reports the same findings", async () => {
    const before = await treeHash(repo);
    for (const profile of ["dev", "prod"]) {
      const real = await cliStandIns(...newClusterArgs("seoul", "ap-northeast-2"), "--profile", profile, "--yes");
      expect(real.exitCode, real.stdout + real.stderr).toBe(1);
      expect(real.stderr).toContain("(image-published)");
      for (const way of [
        "image-builder",
        "--image-lookup-org",
        "--image-id",
        "--region us-east-2 --kubernetes-version v1.34.8",
      ])
        expect(real.stderr).toContain(way);
      const dry = await cliStandIns(
        ...newClusterArgs("seoul", "ap-northeast-2"),
        "--profile",
        profile,
        "--yes",
        "--dry-run",
      );
      expect(dry.exitCode, dry.stdout + dry.stderr).toBe(1);
      expect(findingLines(dry.stderr)).toEqual(findingLines(real.stderr));
      expect(findingLines(real.stderr).length).toBeGreaterThan(0);
    }
    expect(await treeHash(repo)).toBe(before);
  });

  it(`the README quick start (us-east-2, the default version) gives a cluster with no error and no warning; \
--dry-run agrees`, async () => {
    const readme = await readFile(path.join(__dirname, "..", "..", "README.md"), "utf8");
    const line = /^npm run new-cluster -- (.*?)\s+#/m.exec(readme)![1]!;
    const args = line.split(/\s+/);
    expect(args).toEqual(["--name", "demo", "--region", "us-east-2", "--yes"]);
    const dry = await cliStandIns("new-cluster", ...args, "--dry-run");
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).not.toMatch(/warning/);
    const real = await cliStandIns("new-cluster", ...args);
    expect(real.exitCode, real.stderr).toBe(0);
    expect(real.stdout).not.toMatch(/warning/);
    const v = await validateCommand({ cwd: repo, clusters: ["demo"] });
    expect(
      v.findings.filter((f) => f.severity !== "info"),
      JSON.stringify(v.findings, null, 1),
    ).toEqual([]);
    // prod with the defaults there: accepted; its only warning is the API open to the world.
    const prod = await cliStandIns(
      ...newClusterArgs("demo-prod", "us-east-2"),
      "--profile",
      "prod",
      "--yes",
      "--dry-run",
    );
    expect(prod.exitCode, prod.stderr).toBe(0);
    expect(findingLines(prod.stdout)).toEqual([expect.stringMatching(/\(api-open-to-world\)$/)]);
    await g("checkout", "-q", "--", ".");
    await g("clean", "-fdq");
  });
});

describe("a cluster on a fixed image (an AMI id) is never upgraded onto its old kubelet (issue 19 item 2)", () => {
  it("new-cluster states the image's version", async () => {
    const text = await readFile(path.join(repo, "clusters/tokyo/cluster.yaml"), "utf8");
    expect(text).toContain(`image:\n  id: ${OLD}\n  kubernetesVersion: v1.34.8\n`);
  });

  it("upgrade without --image-id is refused, writing nothing", async () => {
    const before = await treeHash(repo);
    const r = await cli("upgrade", "--name", "tokyo", "--to", "v1.35.0");
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toContain("(upgrade-image)");
    expect(r.stderr).toContain(`the control plane's image is fixed (AMI ${OLD} (Kubernetes v1.34.8))`);
    expect(r.stderr).toContain("--image-id <ami-…>");
    expect(await treeHash(repo)).toBe(before);
  });

  it(`a version moved by the cluster's own patch under the kept image: validate and diff flag it, \
upgrade refuses to land on it`, async () => {
    const own = path.join(repo, "clusters/tokyo/kustomization.yaml");
    const original = await readFile(own, "utf8");
    const patched = original.replace(
      "patches: []",
      "patches:\n  - target: { group: controlplane.cluster.x-k8s.io, kind: KubeadmControlPlane }\n" +
        "    patch: |\n      - op: replace\n        path: /spec/version\n        value: v1.35.0\n",
    );
    expect(patched).not.toBe(original);
    await writeFile(own, patched);
    try {
      const v = await validateCommand({ cwd: repo, clusters: ["tokyo"] });
      const versionFindings = v.findings.filter((f) => f.rule === "image-version");
      expect(versionFindings).toMatchObject([{ severity: "error", file: "clusters/tokyo/kustomization.yaml" }]);
      expect(versionFindings[0]!.message).toContain(
        `AMI ${OLD} holds Kubernetes v1.34.8, but KubeadmControlPlane tokyo-control-plane runs v1.35.0`,
      );
      const d = await cli("diff", "--base", "main");
      expect(d.exitCode, d.stdout + d.stderr).toBe(1);
      expect(d.stdout).toContain("image-version-mismatch");
      expect(d.stdout).toContain("moves from v1.34.8 to v1.35.0 but keeps AMI");
      // upgrade builds and validates before landing: a patch that pins the control plane at its version (v1.34.8, so
      // the cluster validates today) keeps it there under the step's new image for v1.35.0.
      await writeFile(own, patched.replace("value: v1.35.0", "value: v1.34.8"));
      expect(
        (await validateCommand({ cwd: repo, clusters: ["tokyo"] })).findings.filter((f) => f.severity === "error"),
      ).toEqual([]);
      await g("commit", "-qam", "a patch pins the control plane's version");
      const before = await treeHash(repo);
      const r = await cli("upgrade", "--name", "tokyo", "--to", "v1.35.0", "--image-id", NEW);
      expect(r.exitCode, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toContain("would not validate; nothing was written");
      expect(r.stderr).toContain(
        `AMI ${NEW} holds Kubernetes v1.35.0, but KubeadmControlPlane tokyo-control-plane runs v1.34.8`,
      );
      expect(r.stderr).toContain("(image-version)");
      expect(await treeHash(repo)).toBe(before);
    } finally {
      await writeFile(own, original);
      await g("commit", "-q", "--allow-empty", "-am", "the patch goes");
    }
    // Negative control: without the patch nothing is flagged.
    const clean = await validateCommand({ cwd: repo, clusters: ["tokyo"] });
    expect(clean.findings.filter((f) => f.severity === "error")).toEqual([]);
  });

  it(`with --image-id: step 1 gives the control plane the new image (pools keep the old one); \
step 2 needs and takes the pools'; each validates`, async () => {
    const one = await cli("upgrade", "--name", "tokyo", "--to", "v1.35.0", "--image-id", NEW);
    expect(one.exitCode, one.stdout + one.stderr).toBe(0);
    const text = await readFile(path.join(repo, "clusters/tokyo/cluster.yaml"), "utf8");
    expect(text).toContain(`image:\n  id: ${NEW}\n  kubernetesVersion: v1.35.0\n`);
    expect(text).toContain(
      `    kubernetesVersion: v1.34.8\n    image:\n      id: ${OLD}\n      kubernetesVersion: v1.34.8\n`,
    );
    const d1 = await cli("diff", "--base", "main");
    expect(d1.stdout).not.toContain("image-version-mismatch");
    await g("add", "-A");
    await g("commit", "-qm", "step 1");
    const refused = await cli("upgrade", "--name", "tokyo");
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(`--image-id ${NEW} makes the pool use the cluster's image again`);
    const two = await cli("upgrade", "--name", "tokyo", "--image-id", NEW);
    expect(two.exitCode, two.stdout + two.stderr).toBe(0);
    const after = await readFile(path.join(repo, "clusters/tokyo/cluster.yaml"), "utf8");
    expect(after.match(/ami-/g)).toHaveLength(1);
    expect(after).not.toContain("v1.34.8");
    const v = await validateCommand({ cwd: repo, clusters: ["tokyo"] });
    expect(v.findings.filter((f) => f.severity === "error")).toEqual([]);
  });
});
