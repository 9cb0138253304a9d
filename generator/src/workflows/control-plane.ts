/**
 * The pinned etcd and kube-apiserver (versions.json "e2e", tools/control-plane.ts) for `npm run e2e`, built into
 * .tools/bin and stamped `<module>@<version>` beside each binary like the other tools.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { buildControlPlaneBinary, CONTROL_PLANE, controlPlanePins } from "../tools/control-plane.js";
import { readStamp, TOOLS_BIN } from "../tools/resolve.js";
import { withProgress } from "./progress.js";

/**
 * Builds the pinned etcd and kube-apiserver into `bin`; skipped when the stamp matches. Not part of `npm run setup`:
 * only the e2e suite needs them. A cold kube-apiserver build takes tens of minutes on a small machine (BENCHMARKS.md).
 */
export async function buildControlPlane(opts: {
  log: (line: string) => void;
  force?: boolean;
  bin?: string;
}): Promise<void> {
  const bin = opts.bin ?? TOOLS_BIN;
  await mkdir(bin, { recursive: true });
  const pins = controlPlanePins();
  for (const name of CONTROL_PLANE) {
    const want = `${pins[name].module}@${pins[name].version}`;
    const stamp = path.join(bin, `${name}.version`);
    if (!opts.force && readStamp(name, bin) === want) {
      opts.log(`${name}: ${want} already in .tools/bin`);
      continue;
    }
    const cold = name === "etcd" ? "≈1–4" : "≈10 min of CPU, 27";
    opts.log(
      `${name}: building ${want} from the Go module (replace directives rewritten; ` +
        `a cold build needs ${cold} min on 2 busy cores) …`,
    );
    const seconds = await withProgress(name, opts.log, () =>
      buildControlPlaneBinary(name, pins[name], path.join(bin, name)),
    );
    await writeFile(stamp, `${want}\n`);
    opts.log(`${name}: built .tools/bin/${name} in ${seconds} s`);
  }
}
