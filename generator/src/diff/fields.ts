/** Reading fields of rendered objects for the diff's rules and messages (undefined wherever a field is absent). */
import { get } from "../k8s/object.js";

/** The string at a dotted path; undefined when absent or not a string. */
export const strAt = (o: unknown, path: string): string | undefined => {
  const v = get(o, path);
  return typeof v === "string" ? v : undefined;
};

/** The value at a dotted path as message text: a string as it is, anything else as JSON; undefined when absent. */
export const textAt = (o: unknown, path: string): string | undefined => {
  const v = get(o, path);
  return v === undefined || v === null ? undefined : typeof v === "string" ? v : JSON.stringify(v);
};
