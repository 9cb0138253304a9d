/**
 * `npm run remove-cluster`: the Git half of deleting a cluster the supported way. It removes clusters/<name>/ (one
 * transaction with the regenerated sync manifests) and prints the one command that really deletes the
 * cluster: deleting the Cluster object, after which CAPI tears down machines, control plane and AWS infrastructure
 * in order. Argo CD (preserveResourcesOnDeletion, Prune=false/Delete=false) and Flux (deletionPolicy: Orphan,
 * prune: disabled) never delete the cluster's objects themselves when the directory goes.
 */
import { InvalidInputError } from "../core/errors.js";
import { clusterDir } from "../core/layout.js";
import { planRemoveCluster } from "../plan/repo.js";
import { exists, loadRepo, readSpec } from "../repo/load.js";
import { pathsToCommit, inside, writeTree } from "../repo/write.js";
import { DNS_LABEL } from "../cluster-spec/schema.js";
import { type CommitHook, noCommit, onBranch, preflight } from "../workflows/branch.js";
import { withRepoLock } from "../repo/lock.js";
import * as git from "../tools/git.js";

export interface RemoveClusterOptions {
  cwd: string;
  name?: string;
  branch?: boolean;
  push?: string;
  /** Remove it even with uncommitted changes or untracked files in it (they are lost). */
  force?: boolean;
  log: (line: string) => void;
}

export async function removeClusterCommand(opts: RemoveClusterOptions): Promise<void> {
  const name = opts.name ?? "";
  if (!new RegExp(DNS_LABEL).test(name))
    throw new InvalidInputError(
      [
        {
          path: "--name",
          rule: "flag",
          severity: "error",
          message: name ? `"${name}" is not a cluster name` : "is required",
        },
      ],
      "nothing was removed",
    );
  const dir = clusterDir(name);
  const abs = inside(opts.cwd, dir);
  if (!(await exists(abs)))
    throw new InvalidInputError(
      [{ path: "--name", rule: "cluster-exists", severity: "error", message: `no cluster at ${dir}` }],
      "nothing was removed",
    );
  // What Git does not hold would be lost for good: refuse unless --force.
  if (!opts.force) {
    if (!(await git.isRepository(opts.cwd)))
      throw new InvalidInputError(
        [
          {
            path: "--name",
            rule: "uncommitted",
            severity: "error",
            message:
              `${opts.cwd} is not a git repository, so ${dir}/ exists nowhere else; copy what you need, then run ` +
              `again with --force`,
          },
        ],
        "nothing was removed",
      );
    const lost = await git.uncommittedPaths(opts.cwd, dir);
    if (lost.length)
      throw new InvalidInputError(
        [
          {
            cluster: name,
            file: dir,
            rule: "uncommitted",
            severity: "error",
            message:
              `has changes Git does not hold ` +
              `(${lost.slice(0, 5).join(", ")}${lost.length > 5 ? `, … ${lost.length} in all` : ""}); commit or ` +
              `move them, or run again with --force to lose them`,
          },
        ],
        "nothing was removed",
      );
  }
  const { spec } = await readSpec(opts.cwd, name).catch(() => ({ spec: undefined }));
  const namespace = spec?.namespace ?? name;

  const branch = opts.branch ? { branch: `remove-cluster/${name}`, push: opts.push } : undefined;
  if (branch) await preflight(opts.cwd, branch);
  const write = (commit: CommitHook) =>
    withRepoLock(
      opts.cwd,
      async () => {
        // One transaction: the folder leaves the tree and the sync manifests change together, or neither does (also
        // when
        // the --branch commit fails).
        const repo = await loadRepo(opts.cwd);
        await writeTree(opts.cwd, planRemoveCluster(name, repo), {
          landed: (result) =>
            commit(
              pathsToCommit(dir, result),
              `Remove cluster ${name} from Git (its objects are kept until the Cluster object is deleted)`,
            ),
        });
      },
      { log: opts.log },
    );
  if (branch) await onBranch(opts.cwd, branch, write, opts.log);
  else await write(noCommit);

  opts.log(`Removed ${dir}/ from the repository.`);
  opts.log("");
  opts.log("What happens and what to do (the supported way to delete a cluster):");
  opts.log(
    "  1. Merge this change. Argo CD removes the Application with its resources preserved (Flux: the Kustomization",
  );
  opts.log("     is deleted with deletionPolicy Orphan); no CAPI/CAPA object is deleted by the sync.");
  opts.log(
    "  2. Delete only the Cluster object; CAPI deletes machines, the control plane and the AWS " +
      "infrastructure in order:",
  );
  opts.log(`       kubectl delete cluster.cluster.x-k8s.io/${name} -n ${namespace} --wait=false`);
  opts.log(`       kubectl wait --for=delete cluster.cluster.x-k8s.io/${name} -n ${namespace} --timeout=60m`);
  opts.log(
    `  3. Then remove what is left in the namespace (old templates kept from pruning): kubectl delete ` +
      `namespace ${namespace}`,
  );
  if (!branch)
    opts.log(
      `Commit it on a branch and open a pull request (or next time: npm run remove-cluster -- --name ` +
        `${name} --branch --push).`,
    );
}
