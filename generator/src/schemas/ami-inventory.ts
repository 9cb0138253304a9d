/**
 * CAPA's published-image inventory: `docs/book/src/development/ami-inventory.md` in the pinned CAPA module
 * (versions.json crds["cluster-api-provider-aws"]), written by CAPA's release tooling (`clusterawsadm ami list`).
 * `npm run schemas` turns its "Existing AMIs List" table into schemas/capa-images/inventory.json, which `validate`
 * reads (validate/images.ts). Pure: text in, data out.
 */
export const IMAGE_INVENTORY_DIR = "schemas/capa-images";
export const IMAGE_INVENTORY_FILE = `${IMAGE_INVENTORY_DIR}/inventory.json`;
export const IMAGE_INVENTORY_SOURCE = "docs/book/src/development/ami-inventory.md";

export interface PublishedImage {
  /** Kubernetes version with its v, e.g. v1.34.8. */
  version: string;
  /** CAPA's base OS name, e.g. ubuntu-24.04. */
  os: string;
  region: string;
  ami: string;
  name: string;
}

export interface ImageInventory {
  /** module@version the inventory was read from. */
  source: string;
  /** The account CAPA's images are published by (the default lookup owner). */
  owner: string;
  images: PublishedImage[];
}

const cell = (s: string) => s.trim().replace(/^`|`$/g, "");

/** The published images of the inventory's "Existing AMIs List" table, sorted. Throws when the table is not found. */
export function parseImageInventory(markdown: string, source: string): ImageInventory {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => /^##\s+Existing AMIs List/.test(l));
  if (start < 0) throw new Error(`${source} ${IMAGE_INVENTORY_SOURCE}: no "## Existing AMIs List" section`);
  const images: PublishedImage[] = [];
  let header: string[] | undefined;
  for (const line of lines.slice(start + 1)) {
    if (/^##\s/.test(line)) break;
    if (!line.startsWith("|")) continue;
    const cells = line.split("|").slice(1, -1).map(cell);
    if (!header) {
      header = cells;
      continue;
    }
    if (cells.every((c) => /^-+$/.test(c))) continue;
    const columns = header;
    const at = (name: string) => cells[columns.indexOf(name)] ?? "";
    images.push({
      name: at("AMI Name"),
      version: at("Kubernetes Version"),
      os: at("OS"),
      region: at("Region"),
      ami: at("AMI ID"),
    });
  }
  const columns = header;
  if (!columns || !["AMI Name", "Kubernetes Version", "OS", "Region", "AMI ID"].every((h) => columns.includes(h)))
    throw new Error(
      `${source} ${IMAGE_INVENTORY_SOURCE}: the Existing AMIs table has columns ${JSON.stringify(header)}`,
    );
  const owner = /<!-- \$default_aws_account_id -->\s*\n- `(\d{12})`/.exec(markdown)?.[1];
  if (!owner) throw new Error(`${source} ${IMAGE_INVENTORY_SOURCE}: no default AWS account`);
  const key = (i: PublishedImage) => `${i.region} ${i.os} ${i.version} ${i.name}`;
  images.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return { source, owner, images };
}

/**
 * The base OS CAPA's public lookup uses when none is set (pkg/cloud/services/ec2/ami.go,
 * DefaultMachineAMILookupBaseOS).
 */
export const DEFAULT_BASE_OS = "ubuntu-24.04";

/** A machine's image fields, as the spec or an AWSMachineSpec/AWSLaunchTemplate states them (absent: unset). */
export interface ImageChoice {
  id?: string;
  lookupOrg?: string;
  lookupFormat?: string;
  lookupBaseOS?: string;
}

/**
 * The base OS of CAPA's public lookup for a machine with these image fields, or undefined when the machine does not
 * rely on it: an AMI id, or an own organisation or name format (the team's images, which the inventory does not know).
 */
export function publicLookupOs(image: ImageChoice, inventory: ImageInventory): string | undefined {
  if (image.id) return undefined;
  if ((image.lookupOrg && image.lookupOrg !== inventory.owner) || image.lookupFormat) return undefined;
  return image.lookupBaseOS || DEFAULT_BASE_OS;
}

/**
 * Whether a machine's image follows its Kubernetes version: CAPA's lookup substitutes the version into the name format
 * (pkg/cloud/services/ec2/ami.go GenerateAmiName: `{{.K8sVersion}}`; the default format has it), so a new version looks
 * up a new image. An AMI id, or a format without `{{.K8sVersion}}`, is one image whatever the version: its kubelet
 * stays where it was built.
 */
export const imageFollowsVersion = (image: ImageChoice): boolean =>
  !image.id && (!image.lookupFormat || image.lookupFormat.includes("{{.K8sVersion}}"));

/** Whether CAPA publishes an image for this Kubernetes version, region and base OS. */
export const isPublished = (inventory: ImageInventory, version: string, region: string, os: string): boolean =>
  inventory.images.some((i) => i.version === version && i.region === region && i.os === os);

/** The Kubernetes versions CAPA publishes for a region and base OS, sorted. */
export const publishedVersions = (inventory: ImageInventory, region: string, os: string): string[] =>
  [...new Set(inventory.images.filter((i) => i.region === region && i.os === os).map((i) => i.version))].sort();

/** The regions CAPA publishes a version for (one base OS), sorted. */
export const publishedRegions = (inventory: ImageInventory, version: string, os: string): string[] =>
  [...new Set(inventory.images.filter((i) => i.version === version && i.os === os).map((i) => i.region))].sort();

/** Why a machine relying on CAPA's public lookup gets no image, and in one line how to get one (`image-published`). */
export function noPublicImageMessage(inventory: ImageInventory, version: string, region: string, os: string): string {
  const here = publishedVersions(inventory, region, os);
  const elsewhere = publishedRegions(inventory, version, os);
  return (
    `no machine image: CAPA publishes no ${os} image for Kubernetes ${version} in ${region}, ` +
    `so its public lookup (capa-ami-${os}-?${version}-*) finds none and no machine boots ` +
    `(${inventory.source} ami-inventory.md; published there: ${here.length ? here.join(", ") : "none"}` +
    `${elsewhere.length ? `; ${version} is published in ${elsewhere.join(", ")}` : ""}). ` +
    "Get one: build it with image-builder (https://image-builder.sigs.k8s.io/capi/providers/aws) " +
    "and set --image-lookup-org <your account> (image.lookupOrg), " +
    `or --image-id <ami-…> (image.id with image.kubernetesVersion: ${version}); ` +
    `or use a published version and region (${publishedPairs(inventory, os)})`
  );
}

/** "--region us-east-2 --kubernetes-version v1.34.8; …": the newest published version per region, for the message. */
function publishedPairs(inventory: ImageInventory, os: string): string {
  const regions = [...new Set(inventory.images.filter((i) => i.os === os).map((i) => i.region))].sort();
  return (
    regions.map((r) => `--region ${r} --kubernetes-version ${publishedVersions(inventory, r, os).at(-1)}`).join("; ") ||
    "none"
  );
}
