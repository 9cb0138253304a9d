/**
 * `npm run management-charts`: hydrates the management cluster's charts (versions.json "management") into this
 * checkout's management/cert-manager/ and management/cluster-api-operator/ (owned whole), offline: the charts come
 * from pinned Go modules (`go mod download`) and are rendered by the pinned helm with `--kube-version`, like the
 * add-ons (commands/addons.ts). `npm run generate` copies them into the repository it generates. Deterministic.
 *
 * Neither chart is usable as it sits in its module; each is first made what its project publishes, in a temporary
 * copy: cert-manager's Chart.yaml gets the release as version/appVersion (its release tool does that; the images
 * default to the appVersion); the operator's chart gets templates/operator-components.yaml from
 * `kustomize build config/chart` and its release image, as the module's Makefile target `release-chart` (after
 * `chart-manifest-modification`) does.
 */
import { chmod, cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { PlanError } from "../core/errors.js";
import { mergePlans, type OutputFile } from "../plan/files.js";
import { hydrateChart } from "../plan/management.js";
import { MANAGEMENT_CHART_DIRS } from "../core/layout.js";
import { withRepoLock } from "../repo/lock.js";
import { writeTree, type WriteResult } from "../repo/write.js";
import { goModDownload } from "../tools/go.js";
import { helmTemplate } from "../tools/helm.js";
import { kustomizeBuild } from "../tools/kustomize.js";
import { type ManagementPins, TOOL_ROOT, versions } from "../pins/versions.js";
import { toYaml } from "../core/yaml.js";
import { checkValues } from "../workflows/chart-values.js";
import { isRecord } from "../k8s/object.js";
import { CERT_MANAGER_NAMESPACE, OPERATOR_NAMESPACE } from "../cluster-spec/reserved.js";

export async function managementChartsCommand(opts: { log: (line: string) => void }): Promise<WriteResult> {
  const plan = mergePlans([{ files: await hydrateManagementCharts(opts.log), roots: [...MANAGEMENT_CHART_DIRS] }]);
  return withRepoLock(
    TOOL_ROOT,
    async () => {
      const result = await writeTree(TOOL_ROOT, plan);
      for (const f of result.written) opts.log(`wrote   ${f}`);
      for (const f of result.deleted) opts.log(`deleted ${f}`);
      return result;
    },
    { log: opts.log },
  );
}

function pins(): { m: ManagementPins; operator: { module: string; version: string } } {
  const v = versions();
  const m = v.management;
  if (!m) throw new PlanError('versions.json has no "management" section');
  const operator = v.crds[m.clusterApiOperator.crds];
  if (!operator)
    throw new PlanError(
      `versions.json has no crds["${m.clusterApiOperator.crds}"] (management.clusterApiOperator.crds)`,
    );
  return { m, operator };
}

/**
 * cert-manager values: its CRDs as part of the release (crds.enabled: Git must hold them); no startupapicheck Job
 * (a Helm post-install hook: Argo CD would run it as a hook of its own, Flux not at all; the sync waves and Flux's
 * wait do its job, waiting for the webhook to be ready).
 */
const CERT_MANAGER_VALUES = { crds: { enabled: true }, startupapicheck: { enabled: false } };

/** The operator's values: the release image (Makefile chart-manifest-modification), no Helm hooks. */
const operatorValues = (image: string, version: string) => ({
  image: { manager: { repository: image, tag: version, pullPolicy: "IfNotPresent" } },
  enableHelmHook: false,
});

/** The chart folder copied out of the read-only module cache, with version and appVersion set. */
async function chartCopy(tmp: string, chartDir: string, version: string, appVersion: string): Promise<string> {
  const dir = path.join(tmp, path.basename(chartDir));
  await cp(chartDir, dir, { recursive: true });
  // The module cache is read-only, and cp keeps the modes.
  for (const n of ["", ...(await readdir(dir, { recursive: true }))]) await chmod(path.join(dir, n), 0o755);
  // cert-manager's module has Chart.template.yaml up to v1.20 (its release tool writes Chart.yaml from it).
  const names = await readdir(dir);
  const source = names.includes("Chart.yaml") ? "Chart.yaml" : "Chart.template.yaml";
  const parsed: unknown = parse(await readFile(path.join(dir, source), "utf8"));
  const chart = isRecord(parsed) ? parsed : {};
  const annotations = Object.fromEntries(
    Object.entries(isRecord(chart.annotations) ? chart.annotations : {}).map(([k, v]) => [
      k,
      v === "{{IS_PRERELEASE}}" ? "false" : v,
    ]),
  );
  await writeFile(path.join(dir, "Chart.yaml"), toYaml({ ...chart, annotations, version, appVersion }));
  return dir;
}

/** What `npm run management-charts` writes: the files of both chart folders (no write). */
export async function hydrateManagementCharts(log: (line: string) => void): Promise<OutputFile[]> {
  const { m, operator } = pins();
  const tmp = await mkdtemp(path.join(os.tmpdir(), "capi-gitops-management-"));
  /** The chart's manifests for `values`, after checkValues has found no key the chart does not have. */
  const checkedTemplate = async (release: string, chartDir: string, namespace: string, values: unknown) => {
    await checkValues(chartDir, values);
    return helmTemplate({ release, chartDir, namespace, kubeVersion: m.kubeVersion, values });
  };
  try {
    const cmDir = await goModDownload(m.certManager.module, m.certManager.version);
    log(`cert-manager ${m.certManager.version}: helm template ${m.certManager.chart}`);
    const cmChart = await chartCopy(
      tmp,
      path.join(cmDir, m.certManager.chart),
      m.certManager.version,
      m.certManager.version,
    );
    const cm = await checkedTemplate("cert-manager", cmChart, CERT_MANAGER_NAMESPACE, CERT_MANAGER_VALUES);

    const opDir = await goModDownload(operator.module, operator.version);
    log(
      `cluster-api-operator ${operator.version}: kustomize build ${m.clusterApiOperator.components} + ` +
        `helm template ${m.clusterApiOperator.chart}`,
    );
    // Helm charts carry SemVer without the v (the Makefile's HELM_CHART_TAG).
    const bare = operator.version.replace(/^v/, "");
    const opChart = await chartCopy(tmp, path.join(opDir, m.clusterApiOperator.chart), bare, bare);
    await writeFile(
      path.join(opChart, "templates", "operator-components.yaml"),
      await kustomizeBuild(opDir, m.clusterApiOperator.components),
    );
    const values = operatorValues(m.clusterApiOperator.image, operator.version);
    const op = await checkedTemplate("capi-operator", opChart, OPERATOR_NAMESPACE, values);
    return [
      ...hydrateChart("cert-manager", cm, CERT_MANAGER_NAMESPACE),
      ...hydrateChart("cluster-api-operator", op, OPERATOR_NAMESPACE),
    ];
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
