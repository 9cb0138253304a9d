/** Interactive prompts for `new-cluster` on a terminal: asks only for what the flags left out. */
import { DNS_LABEL } from "../cluster-spec/schema.js";
import { defaultZones, knownRegions, zonesOf } from "../cluster-spec/regions.js";
import { DEFAULTS, LIMITS, PROFILE_DEFAULTS, PROFILES, type Profile, WORKER_KINDS } from "../cluster-spec/types.js";
import type { NewClusterFlags } from "../cluster-spec/flags.js";

const isProfile = (p: string): p is Profile => PROFILES.some((x) => x === p);

export async function promptForMissing(flags: NewClusterFlags): Promise<NewClusterFlags> {
  // Loaded here, not with the module: the CLI is one bundle, whose start-up would pay for it in every command.
  const { checkbox, input, number, select } = await import("@inquirer/prompts");
  const f = { ...flags };
  f.name ??= await input({
    message: "Cluster name",
    validate: (v) =>
      (new RegExp(DNS_LABEL).test(v) && v.length <= LIMITS.clusterName) ||
      `lowercase letters, digits and '-', starting with a letter, ≤ ${LIMITS.clusterName}`,
  });
  f.region ??= await select({
    message: "AWS region",
    choices: knownRegions().map((r) => ({ value: r })),
    default: "ap-northeast-2",
  });
  const zones = zonesOf(f.region);
  if (f.zones === undefined && zones) {
    const preset = defaultZones(f.region) ?? [];
    const picked = await checkbox({
      message: "Availability zones",
      choices: zones.map((z) => ({ value: z, checked: preset.includes(z) })),
      validate: (v) => v.length > 0 || "pick at least one zone",
    });
    f.zones = picked.join(",");
  }
  f.profile ??= await select({
    message: "Profile",
    choices: PROFILES.map((p) => ({ value: p })),
    default: DEFAULTS.profile,
  });
  const d = PROFILE_DEFAULTS[isProfile(f.profile) ? f.profile : DEFAULTS.profile];
  f.kubernetesVersion ??= await input({ message: "Kubernetes version", default: DEFAULTS.kubernetesVersion });
  f.workers ??= await select({
    message: "Workers",
    choices: WORKER_KINDS.map((w) => ({ value: w })),
    default: DEFAULTS.workers,
  });
  if (f.controlPlaneReplicas === undefined) {
    const n = await number({
      message: "Control-plane replicas (odd)",
      default: d.controlPlaneReplicas,
      validate: (v) => (v !== undefined && v > 0 && v % 2 === 1) || "an odd number > 0",
    });
    f.controlPlaneReplicas = String(n);
  }
  f.controlPlaneInstanceType ??= await input({
    message: "Control-plane instance type",
    default: d.controlPlaneInstanceType,
  });
  return f;
}
