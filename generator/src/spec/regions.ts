/**
 * AWS commercial regions and the availability-zone letters they offer. Hand-written: AWS publishes this only
 * through its API (DescribeAvailabilityZones), which needs credentials and a network; no maintained npm package
 * carries it. AZ *names* are mapped per account by AWS, so this lists the letters that exist in each region.
 * Add a region here when AWS opens one.
 */
export const REGION_AZ_LETTERS: Readonly<Record<string, string>> = {
  "us-east-1": "abcdef",
  "us-east-2": "abc",
  "us-west-1": "abc",
  "us-west-2": "abcd",
  "ca-central-1": "abd",
  "ca-west-1": "abc",
  "mx-central-1": "abc",
  "sa-east-1": "abc",
  "eu-west-1": "abc",
  "eu-west-2": "abc",
  "eu-west-3": "abc",
  "eu-central-1": "abc",
  "eu-central-2": "abc",
  "eu-north-1": "abc",
  "eu-south-1": "abc",
  "eu-south-2": "abc",
  "il-central-1": "abc",
  "me-south-1": "abc",
  "me-central-1": "abc",
  "af-south-1": "abc",
  "ap-east-1": "abc",
  "ap-south-1": "abc",
  "ap-south-2": "abc",
  "ap-northeast-1": "acd",
  "ap-northeast-2": "abcd",
  "ap-northeast-3": "abc",
  "ap-southeast-1": "abc",
  "ap-southeast-2": "abc",
  "ap-southeast-3": "abc",
  "ap-southeast-4": "abc",
  "ap-southeast-5": "abc",
  "ap-southeast-7": "abc",
};

export const knownRegions = (): string[] => Object.keys(REGION_AZ_LETTERS).sort();

export function zonesOf(region: string): string[] | undefined {
  const letters = Object.hasOwn(REGION_AZ_LETTERS, region) ? REGION_AZ_LETTERS[region] : undefined;
  return letters ? [...letters].map((l) => `${region}${l}`) : undefined;
}

/** The first three zones of a region: the default spread for the control plane subnets and the node pools. */
export function defaultZones(region: string): string[] | undefined {
  return zonesOf(region)?.slice(0, 3);
}

/** The region an AZ name belongs to (`ap-northeast-2a` → `ap-northeast-2`), or undefined if it is not an AZ name. */
export function regionOfZone(zone: string): string | undefined {
  const m = /^([a-z]{2}(?:-[a-z]+)+-\d+)[a-z]$/.exec(zone);
  return m?.[1];
}
