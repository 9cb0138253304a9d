/**
 * The programs `npm run e2e` runs (versions.json "e2e" and the Flux controller, tools/control-plane.ts), built into
 * .tools/bin and stamped `<module>@<version>` beside each binary like the other tools.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { buildE2eBinary, E2E_BINARIES, e2ePins, type E2eBinary } from "../tools/control-plane.js";
import { readStamp, TOOLS_BIN } from "../tools/resolve.js";
import { buildAll, withProgress } from "./progress.js";

/** What a cold build of each costs on 2 cores, quiet and busy (measured; README "Quick start"). */
const COLD: Record<E2eBinary, string> = {
  etcd: "≈30 s–4 min",
  "kube-apiserver": "≈4–27 min",
  "kustomize-controller": "≈3 min",
};

/**
 * Builds the pinned etcd, kube-apiserver and kustomize-controller into `bin`; each skipped when its stamp matches.
 * Not part of `npm run setup`: only the e2e suite needs them. A cold kube-apiserver build takes tens of minutes on a
 * small machine (BENCHMARKS.md).
 */
export async function buildControlPlane(opts: {
  log: (line: string) => void;
  force?: boolean;
  bin?: string;
}): Promise<void> {
  const bin = opts.bin ?? TOOLS_BIN;
  await mkdir(bin, { recursive: true });
  const pins = e2ePins();
  const build = async (name: E2eBinary) => {
    const want = `${pins[name].module}@${pins[name].version}`;
    const stamp = path.join(bin, `${name}.version`);
    if (!opts.force && readStamp(name, bin) === want) {
      opts.log(`${name}: ${want} already in .tools/bin`);
      return;
    }
    opts.log(
      `${name}: building ${want} from the Go module (replace directives rewritten; ` +
        `a cold build needs ${COLD[name]} on 2 cores) …`,
    );
    const seconds = await withProgress(name, opts.log, () => buildE2eBinary(name, pins[name], path.join(bin, name)));
    await writeFile(stamp, `${want}\n`);
    opts.log(`${name}: built .tools/bin/${name} in ${seconds} s`);
  };
  await buildAll(E2E_BINARIES.map((name) => () => build(name)));
}
