/**
 * Account identities and access against a real kube-apiserver with the upstream webhooks (`npm run e2e`'s steps
 * without the box): clusters with a role identity and Session Manager, a static identity, and a bastion with an
 * internal API — management/identities applied first (CAPA's AWSClusterRoleIdentity / AWSClusterStaticIdentity
 * webhooks), then each cluster's objects, created and then updated with the accepted change.
 *
 * Needs the control plane `npm run e2e` builds and the admission program: skipped without them.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { e2eCommand, type E2eResult } from "../src/commands/e2e.js";
import { newClusterCommand } from "../src/commands/new-cluster.js";
import { controlPlaneInstalled } from "../src/tools/control-plane.js";
import { tempDir } from "./helpers.js";

const built = controlPlaneInstalled();
const CLUSTERS = [
  { name: "id-role", region: "us-east-2", identityRoleArn: "arn:aws:iam::111122223333:role/capa", access: "ssm" },
  {
    name: "id-static",
    region: "us-east-2",
    identitySecret: "capa-creds",
    identityAccount: "444455556666",
    access: "bastion",
    bastionAllowedCidrs: "203.0.113.0/24",
    sshKeyName: "ops",
    apiServerScheme: "internal",
    apiManagementConnection: "pcx-0123456789abcdef0",
  },
];

let result: E2eResult;
let stepNames: string[] = [];
let cleanup: () => Promise<void>;

describe.skipIf(!built)("identities, bastion and internal API against a real kube-apiserver", () => {
  beforeAll(async () => {
    const t = await tempDir("capi-gitops-e2e-identity-");
    cleanup = t.cleanup;
    await writeFile(
      path.join(t.dir, "capi-gitops.yaml"),
      "apiVersion: capi-gitops.io/v1alpha1\nkind: RepositoryConfig\nrepoURL: https://git.example.com/p/c.git\n",
    );
    for (const flags of CLUSTERS) await newClusterCommand({ cwd: t.dir, flags, log: () => {}, render: false });
    const input = path.join(t.dir, "..", `${path.basename(t.dir)}-input.json`);
    await e2eCommand({ cwd: t.dir, log: () => {}, fixtures: false, box: false, inputOnly: input });
    const parsed = JSON.parse(await readFile(input, "utf8")) as { steps: { name: string; objects: unknown[] }[] };
    stepNames = parsed.steps.map((s) => `${s.name} (${s.objects.length})`);
    result = await e2eCommand({ cwd: t.dir, log: () => {}, fixtures: false, box: false });
  }, 1_500_000);
  afterAll(async () => cleanup?.());

  it("the identities step ran, and nothing fails", () => {
    expect(result.failures.map((f) => f.output.slice(0, 400))).toEqual([]);
    expect(stepNames).toContain("repository management/identities (2)");
    expect(result.passed).toBeGreaterThan(0);
  });
});
