/**
 * clusterawsadm (pinned in versions.json at the CAPA release): prints the CloudFormation template of an
 * AWSIAMConfiguration without calling AWS (CAPA cmd/clusterawsadm/cmd/bootstrap/iam/cloudformation.go
 * printCloudFormationTemplateCmd: load the config, render, print).
 */
import { checkedTool, installHint } from "./resolve.js";
import { run } from "./run.js";

export async function printCloudFormationTemplate(cwd: string, configFile: string): Promise<string> {
  const { stdout } = await run(
    await checkedTool("clusterawsadm"),
    ["bootstrap", "iam", "print-cloudformation-template", "--config", configFile],
    {
      cwd,
      timeoutMs: 60_000,
      installHint: installHint("clusterawsadm"),
      env: { AWS_EC2_METADATA_DISABLED: "true" },
    },
  );
  return stdout;
}
