/** IPv4 CIDR helpers over cidr-tools (parsing, normalizing, overlap); only subnet carving is ours. */
import { quote } from "../core/findings.js";
import { createHash } from "node:crypto";
import { normalizeCidr, overlapCidr, parseCidr } from "cidr-tools";

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,3})$/;

export type CidrProblem = { ok: true; prefix: number } | { ok: false; message: string };

export function checkIpv4Cidr(value: string): CidrProblem {
  const m = IPV4_CIDR.exec(value);
  if (!m) return { ok: false, message: `${quote(value)} is not an IPv4 CIDR like 10.0.0.0/16` };
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32)
    return { ok: false, message: `${quote(value)} is not an IPv4 CIDR like 10.0.0.0/16` };
  // Leading zeros are ambiguous (inet_aton and some AWS/Go tools read 010 as octal 8; Go's netip refuses them).
  if (m.slice(1, 6).some((part) => part.length > 1 && part.startsWith("0")))
    return {
      ok: false,
      message: `${quote(value)} has leading zeros, which some tools read as octal; write ${octets.join(".")}/${prefix}`,
    };
  const normal = normalizeCidr(value);
  if (normal !== value) return { ok: false, message: `${quote(value)} has host bits set; the network is ${normal}` };
  return { ok: true, prefix };
}

export const cidrsOverlap = (a: string, b: string): boolean => overlapCidr(a, b);

/** A CIDR's first and last address, parsed once (many comparisons: the fleet's VPCs); undefined when invalid. */
export function cidrRange(cidr: string): { start: bigint; end: bigint } | undefined {
  try {
    const { start, end } = parseCidr(cidr);
    return { start, end };
  } catch {
    return undefined;
  }
}

function toDotted(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((n >> shift) & 255n)).join(".");
}

/** The `index`-th subnet of size /newPrefix inside `cidr` (which must be valid and large enough). */
export function subnetOf(cidr: string, newPrefix: number, index: number): string {
  const { start } = parseCidr(cidr);
  const size = 1n << BigInt(32 - newPrefix);
  return `${toDotted(start + size * BigInt(index))}/${newPrefix}`;
}

/** The ranges new-cluster hands out as VPC CIDRs: 10.N.0.0/16, N = 0..255. */
const VPC_SLOTS = 256;

/**
 * A new cluster's VPC CIDR: the /16 10.N.0.0/16 with N from a stable hash of the cluster's name (sha256, first two
 * bytes, mod 256), probing upward (wrapping) to the first that overlaps none of `used` (the fleet's VPC CIDRs) and
 * none of `reserved` (the cluster's own pod and service CIDRs: a VPC inside 10.96.0.0/12 would give nodes addresses
 * that the cluster's Services also use). Two pull requests cut from the same main with different names so rarely
 * get the same range (a "next free" counter would give both the same one); undefined if no slot is free.
 */
export function pickVpcCidr(name: string, used: readonly string[], reserved: readonly string[]): string | undefined {
  const start = createHash("sha256").update(name).digest().readUInt16BE(0) % VPC_SLOTS;
  const clashes = (candidate: string, with_: readonly string[]) =>
    with_.some((u) => {
      try {
        return overlapCidr(u, candidate);
      } catch {
        return false; // an invalid CIDR is reported where it is written
      }
    });
  for (let i = 0; i < VPC_SLOTS; i++) {
    const candidate = `10.${(start + i) % VPC_SLOTS}.0.0/16`;
    if (!clashes(candidate, used) && !clashes(candidate, reserved)) return candidate;
  }
  return undefined;
}
