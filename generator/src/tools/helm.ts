/** Helm (pinned in versions.json, built by `npm run setup`): only `helm template`, offline, from a chart folder. */
import { checkedTool, installHint } from "./resolve.js";
import { run } from "./run.js";

/**
 * `helm template <release> <chartDir> --namespace <ns> --kube-version <v> -f <values>`: the rendered YAML stream.
 * A `go install`ed helm has no release ldflags and assumes Kubernetes v1.20 for `.Capabilities`, hence --kube-version.
 * Values are passed as JSON on stdin (`-f -`); helm checks them against the chart's values.schema.json when it ships
 * one.
 */
export async function helmTemplate(opts: {
  release: string;
  chartDir: string;
  namespace: string;
  kubeVersion: string;
  values: unknown;
}): Promise<string> {
  const args = [
    "template",
    opts.release,
    opts.chartDir,
    "--namespace",
    opts.namespace,
    "--kube-version",
    opts.kubeVersion,
    "--include-crds",
    "-f",
    "-",
  ];
  const { stdout } = await run(await checkedTool("helm"), args, {
    cwd: opts.chartDir,
    input: JSON.stringify(opts.values),
    timeoutMs: 120_000,
    installHint: installHint("helm"),
  });
  return stdout;
}
