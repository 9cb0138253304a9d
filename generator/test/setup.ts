/**
 * Runs before every test file (vitest setupFiles): the file validates with the run's cache folder (global-setup.ts;
 * CAPI_GITOPS_CACHE_DIR, see render/cache.ts cacheRoot) and makes its temporary files in the run's folder (TMPDIR,
 * read by os.tmpdir()), which child processes started by the file inherit. Each repository's entries are under its
 * own real path (temporary folders: no two files share one); the programs' results are keyed by their exact input
 * and shared. A test that changes process.env restores it.
 */
import { inject } from "vitest";

process.env.CAPI_GITOPS_CACHE_DIR = inject("cacheRoot");
process.env.TMPDIR = inject("tmpRoot");
