/** `npm run generate`: regenerates the whole tree from the specs (workflows/generate.ts). */
import { generateTree, type GenerateOptions } from "../workflows/generate.js";
import type { WriteResult } from "../repo/write.js";

export type { GenerateOptions };

export function generateCommand(opts: GenerateOptions): Promise<WriteResult> {
  return generateTree(opts);
}
