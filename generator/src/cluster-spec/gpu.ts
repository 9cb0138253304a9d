/**
 * EC2 instance families with NVIDIA GPUs. No pinned source lists them (CAPA knows instance types only through
 * DescribeInstanceTypes at run time), so this is a documented list: AWS's "Accelerated computing" instance type
 * specifications (docs.aws.amazon.com/ec2/latest/instancetypes/ac.html), the families whose accelerator is an NVIDIA
 * GPU. AMD (g4ad), Habana (dl1), Inferentia/Trainium (inf*, trn*) and FPGA (f*) families are not here: the NVIDIA
 * device plugin does nothing for them.
 */
export const NVIDIA_GPU_FAMILIES = {
  p3: "NVIDIA V100",
  p3dn: "NVIDIA V100",
  p4d: "NVIDIA A100",
  p4de: "NVIDIA A100 80 GB",
  p5: "NVIDIA H100",
  p5e: "NVIDIA H200",
  p5en: "NVIDIA H200",
  g4dn: "NVIDIA T4",
  g5: "NVIDIA A10G",
  g5g: "NVIDIA T4G (Arm)",
  g6: "NVIDIA L4",
  g6e: "NVIDIA L40S",
  gr6: "NVIDIA L4",
} as const satisfies Record<string, string>;

/** The family of an instance type ("g5.xlarge" → "g5") when it has NVIDIA GPUs, else undefined. */
export function gpuFamily(instanceType: string): keyof typeof NVIDIA_GPU_FAMILIES | undefined {
  const family = instanceType.split(".")[0] ?? "";
  return Object.keys(NVIDIA_GPU_FAMILIES).find((f): f is keyof typeof NVIDIA_GPU_FAMILIES => f === family);
}

/** Whether a pool launches GPU instances: its instanceType or one of its further instanceTypes is of a GPU family. */
export function launchesGpu(pool: { instanceType?: unknown; instanceTypes?: unknown }): boolean {
  const more: unknown[] = Array.isArray(pool.instanceTypes) ? pool.instanceTypes : [];
  const types = [pool.instanceType, ...more];
  return types.some((t) => typeof t === "string" && gpuFamily(t) !== undefined);
}

/**
 * The taint a GPU pool gets by default: only pods that tolerate it (GPU workloads, the device plugin) land there. The
 * key is the device plugin's resource name, which NVIDIA's static DaemonSet tolerates (deployments/static/
 * nvidia-device-plugin.yml: key nvidia.com/gpu, operator Exists, effect NoSchedule).
 */
export const GPU_TAINT = { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" } as const;
