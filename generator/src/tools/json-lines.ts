/** The JSON-lines output of this project's own Go programs (admission, health), read into typed results. */
import { ToolError } from "../core/errors.js";

/**
 * One result per non-empty line of `stdout`; a line that is not JSON or not a result (`guard`, after `normalize`) is a
 * ToolError naming `program`.
 */
export function parseJsonLines<T>(
  stdout: string,
  program: string,
  guard: (v: unknown) => v is T,
  normalize: (v: unknown) => void = () => {},
): T[] {
  const out: T[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.trim()) continue;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      throw new ToolError(`${program} printed a line that is not JSON: ${line.slice(0, 200)}`, program);
    }
    normalize(r);
    if (!guard(r)) throw new ToolError(`${program} printed an unexpected result: ${line.slice(0, 200)}`, program);
    out.push(r);
  }
  return out;
}
