/**
 * Issue 19 item 5: every advertised Kubernetes minor (SUPPORTED_MINORS, v1.30–v1.36) has a CCM, and a cluster at
 * each of them validates and upgrades to the next minor with the real `upgrade` command (both steps: the control
 * plane, then the pools), the real kustomize and the real `validate`. The machines use an image-builder lookup whose
 * name format carries the Kubernetes version ({{.K8sVersion}}): each step's machines get that version's image, so no
 * image id needs supplying (CAPA's public images exist for a few versions in us-east-2 only). v1.36 is the newest
 * minor the pinned Cluster API supports, so its next step is refused by the version check, not by the add-ons.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SUPPORTED_MINORS } from "../src/cluster-spec/parse.js";
import { newClusterCommand } from "../src/commands/new-cluster.js";
import { validateCommand } from "../src/commands/validate.js";
import { kustomizeBuild } from "../src/tools/kustomize.js";
import { versions } from "../src/pins/versions.js";
import { parseYamlStream } from "../src/core/yaml.js";
import { runCli } from "./helpers.js";
import { configuredRepo } from "./helpers/repo.js";
import { standInContext } from "./helpers/runners.js";

const MINORS = Array.from(
  { length: SUPPORTED_MINORS.max - SUPPORTED_MINORS.min + 1 },
  (_, i) => SUPPORTED_MINORS.min + i,
);
const nameOf = (minor: number) => `k1-${minor}`;
let repo: string;
let cleanup: () => Promise<void>;
/**
 * For `upgrade`'s own validate of the cluster it changed: the admission program and kubectl-validate are stand-ins
 * there, because `errorsOf` validates every cluster in the same state with the real programs right after.
 */
const standIns = { ctx: standInContext() };

/** What the management cluster would apply for a cluster: control plane and pool versions, the CCM image. */
async function rendered(cluster: string) {
  const objs = parseYamlStream(await kustomizeBuild(repo, `clusters/${cluster}`)) as any[];
  const ccmMap = objs.find((o) => o.kind === "ConfigMap" && /-addon-aws-ccm-/.test(o.metadata.name));
  const ccmImage = (parseYamlStream(Object.values(ccmMap?.data ?? {})[0] as string) as any[]).find(
    (o) => o?.kind === "DaemonSet",
  )?.spec.template.spec.containers[0].image;
  return {
    controlPlane: objs.find((o) => o.kind === "KubeadmControlPlane")?.spec.version,
    // One entry per distinct version (a MachineDeployment pool renders one object per zone).
    pools: [
      ...new Set(
        objs
          .filter((o) => o.kind === "MachinePool" || o.kind === "MachineDeployment")
          .map((o) => o.spec.template.spec.version),
      ),
    ],
    ccm: ccmImage,
  };
}
const ccmImage = (minor: number) =>
  `${versions().addons.cloudControllerManager.image}:${versions().addons.cloudControllerManager.byMinor[`1.${minor}`]}`;
async function errorsOf() {
  const v = await validateCommand({ cwd: repo, skipCel: true });
  return v.findings.filter((f) => f.severity === "error");
}

beforeAll(async () => {
  ({ repo, cleanup } = await configuredRepo("capi-gitops-minors-"));
  for (const [i, minor] of MINORS.entries())
    await newClusterCommand({
      cwd: repo,
      flags: {
        name: nameOf(minor),
        region: "us-east-2",
        kubernetesVersion: `v1.${minor}.2`,
        vpcCidr: `10.${40 + i}.0.0/16`,
        imageLookupOrg: "123456789012",
        imageLookupFormat: "capa-ami-{{.BaseOS}}-?{{.K8sVersion}}-*",
      },
      log: () => {},
      render: false,
    });
});
afterAll(async () => cleanup?.());

describe("every advertised minor has a CCM and can upgrade", () => {
  it("a cluster at each of v1.30–v1.36 validates, with the CCM of its minor", async () => {
    expect(MINORS).toEqual([30, 31, 32, 33, 34, 35, 36]);
    expect(await errorsOf()).toEqual([]);
    for (const minor of MINORS)
      expect(await rendered(nameOf(minor)), nameOf(minor)).toEqual({
        controlPlane: `v1.${minor}.2`,
        pools: [`v1.${minor}.2`],
        ccm: ccmImage(minor),
      });
  });

  it(`each upgrades to the next minor with \`upgrade\` (control plane, then pools), the CCM following with the pools, \
and validates after each step`, async () => {
    for (const minor of MINORS.slice(0, -1)) {
      const name = nameOf(minor);
      const to = `v1.${minor + 1}.1`;
      const cp = await runCli(["upgrade", "--name", name, "--to", to, "--repo", repo], standIns);
      expect(cp.exitCode, `${name}: ${cp.stderr}`).toBe(0);
      // The CCM stays at the pools' minor until they move (never newer than a kube-apiserver, issue 19 item 6).
      expect(await rendered(name), name).toEqual({ controlPlane: to, pools: [`v1.${minor}.2`], ccm: ccmImage(minor) });
    }
    expect(await errorsOf()).toEqual([]);
    for (const minor of MINORS.slice(0, -1)) {
      const name = nameOf(minor);
      const pools = await runCli(["upgrade", "--name", name, "--repo", repo], standIns);
      expect(pools.exitCode, `${name}: ${pools.stderr}`).toBe(0);
      expect(await rendered(name), name).toEqual({
        controlPlane: `v1.${minor + 1}.1`,
        pools: [`v1.${minor + 1}.1`],
        ccm: ccmImage(minor + 1),
      });
    }
    expect(await errorsOf()).toEqual([]);
    // v1.36 → v1.37: refused by the supported range of the pinned Cluster API, not for want of a CCM.
    const last = await runCli(["upgrade", "--name", nameOf(36), "--to", "v1.37.0", "--repo", repo], standIns);
    expect(last.exitCode).toBe(1);
    expect(last.stderr).toContain("v1.30–v1.36");
    expect(last.stderr).not.toContain("cloud-controller-manager");
  }, 600_000);
});
