/** tools/kubeconform.ts parses kubeconform's `-output json` into typed verdicts (what validate turns into findings). */
import { describe, expect, it } from "vitest";
import { ToolError } from "../src/core/errors.js";
import { parseKubeconformOutput } from "../src/tools/kubeconform.js";

const out = (...resources: object[]) => JSON.stringify({ resources });
const res = { filename: "/tmp/a.yaml", kind: "ConfigMap", name: "x", version: "v1" };

describe("parseKubeconformOutput", () => {
  it.each([
    [
      "valid, skipped and empty resources are left out",
      out(
        { ...res, status: "statusValid", msg: "" },
        { ...res, status: "statusSkipped", msg: "" },
        { ...res, status: "statusEmpty", msg: "" },
      ),
      [],
    ],
    ["no resources at all", "{}", []],
    [
      "validationErrors: pointers become dotted fields",
      out({
        ...res,
        status: "statusInvalid",
        msg: "…",
        validationErrors: [
          { path: "/metadata", msg: "additional properties 'foo' not allowed" },
          { path: "/data/a", msg: "got number, want string" },
        ],
      }),
      [
        {
          filename: "/tmp/a.yaml",
          kind: "ConfigMap",
          name: "x",
          apiVersion: "v1",
          verdict: "invalid",
          message: "…",
          errors: [
            { field: "metadata", message: "additional properties 'foo' not allowed" },
            { field: "data.a", message: "got number, want string" },
          ],
        },
      ],
    ],
    [
      "an older message without validationErrors is split at its ' - at ' parts",
      out({
        ...res,
        status: "statusInvalid",
        msg:
          "jsonschema: '' does not validate with file:///s.json#/required: validation failed - at " +
          "'/spec/replicas': got string, want integer",
      }),
      [
        {
          filename: "/tmp/a.yaml",
          kind: "ConfigMap",
          name: "x",
          apiVersion: "v1",
          verdict: "invalid",
          message: expect.any(String),
          errors: [{ field: "spec.replicas", message: "got string, want integer" }],
        },
      ],
    ],
    [
      "a missing schema",
      out({ ...res, kind: "Foo", version: "x.io/v1", status: "statusError", msg: "could not find schema for Foo" }),
      [
        {
          filename: "/tmp/a.yaml",
          kind: "Foo",
          name: "x",
          apiVersion: "x.io/v1",
          verdict: "no-schema",
          message: "could not find schema for Foo",
          errors: [],
        },
      ],
    ],
    [
      "another error (e.g. a duplicate key)",
      out({
        ...res,
        status: "statusError",
        msg: 'error converting YAML to JSON: yaml: mapping key "a" already defined',
      }),
      [
        {
          filename: "/tmp/a.yaml",
          kind: "ConfigMap",
          name: "x",
          apiVersion: "v1",
          verdict: "error",
          message: 'error converting YAML to JSON: yaml: mapping key "a" already defined',
          errors: [],
        },
      ],
    ],
  ])("%s", (_label, stdout, expected) => expect(parseKubeconformOutput(stdout)).toEqual(expected));

  it("anything that is not its JSON is a ToolError", () => {
    expect(() => parseKubeconformOutput("panic: runtime error")).toThrow(ToolError);
  });
});
