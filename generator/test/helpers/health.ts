import { existsSync } from "node:fs";
import path from "node:path";
import { envVarFor, TOOLS_BIN } from "../../src/tools/resolve.js";
import { HEALTH, healthBinary } from "../../src/tools/health.js";

/** Why the capi-gitops-health binary cannot run here, or undefined when it can (tests skip with it). */
export const healthUnavailable = ((): string | undefined => {
  if (!process.env[envVarFor(HEALTH)] && !existsSync(path.join(TOOLS_BIN, HEALTH)))
    return `.tools/bin/${HEALTH} is not built (npm run setup) and ${envVarFor(HEALTH)} is not set`;
  try {
    healthBinary();
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
})();
