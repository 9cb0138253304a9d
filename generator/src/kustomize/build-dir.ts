/** Naming of the temporary batch folders `validate` builds from (at the repository root, removed afterwards). */
export const BUILD_DIR_PREFIX = ".capi-gitops-build-";
