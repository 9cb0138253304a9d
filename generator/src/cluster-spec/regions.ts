/**
 * AWS commercial regions and the availability-zone letters they offer. Hand-written: AWS publishes this only
 * through its API (DescribeAvailabilityZones), which needs credentials and a network; no maintained npm package
 * carries it. AZ *names* are mapped per account by AWS, so this lists the letters that exist in each region.
 * Add a region here when AWS opens one.
 *
 * A letter's position in its region's string addresses the zone's subnets (zoneSlot below): only ever append a
 * letter (AWS names new zones with later letters); inserting or removing one would move live subnets' CIDRs.
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

/** The zone letters of a region, or undefined for a region the table lacks. */
const lettersOf = (region: string): string | undefined =>
  Object.hasOwn(REGION_AZ_LETTERS, region) ? REGION_AZ_LETTERS[region] : undefined;

export function zonesOf(region: string): string[] | undefined {
  const letters = lettersOf(region);
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

/**
 * Subnet slots per cluster: the VPC is carved into 16 subnets of /(vpc prefix + 4), private subnets in slots 0..7 and
 * public ones in 8..15, so a zone's slot must be below 8.
 */
export const ZONE_SLOTS = 8;

/**
 * The zone's subnet slot: the position of its letter among its region's letters (us-east-1d → 3, ap-northeast-1c →
 * 1 as that region has a, c, d). It depends on the zone alone, never on the order or the number of the cluster's
 * zones, so reordering or removing a zone moves no subnet; and a region's first three zones in order get slots 0, 1,
 * 2, the addresses clusters had when subnets were numbered by list position. Undefined for a zone the table lacks.
 */
export function zoneSlot(zone: string): number | undefined {
  const region = regionOfZone(zone);
  const letters = region ? lettersOf(region) : undefined;
  const i = letters ? letters.indexOf(zone.slice(-1)) : -1;
  return i < 0 ? undefined : i;
}
