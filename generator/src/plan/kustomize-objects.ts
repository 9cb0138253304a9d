/** Builders for Kustomize documents (Kustomization, Component, JSON6902 patches) as plain objects. */
import { toYamlInline } from "../core/yaml.js";

export type PatchOp = { op: "add" | "replace" | "remove"; path: string; value?: unknown };
export type Target = { group?: string; version?: string; kind: string; name?: string };
export type Patch = { target: Target; patch: string };

export const KUSTOMIZATION = { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization" } as const;
export const COMPONENT = { apiVersion: "kustomize.config.k8s.io/v1alpha1", kind: "Component" } as const;

/** JSON pointer escaping for keys such as `capi-gitops.io/node-pool`. */
export const ptr = (...parts: string[]): string =>
  "/" + parts.map((p) => p.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

export const rename = (name: string): PatchOp => ({ op: "replace", path: "/metadata/name", value: name });
export const set = (pointer: string, value: unknown): PatchOp => ({ op: "add", path: pointer, value });

export function patch(target: Target, ops: PatchOp[]): Patch {
  return { target, patch: toYamlInline(ops) };
}
