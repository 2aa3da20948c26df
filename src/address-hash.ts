import { createHash, createHmac } from 'node:crypto';

/** A keyed hash of an email address: how the suppression list keeps an erased address (HMAC-SHA256, hex). */
export type AddressHasher = (address: string) => string;

/** Used only outside production when no key is configured (`loadConfig` refuses that in production). */
const developmentKey = createHash('sha256').update('orderly development erasure hash key').digest();

/**
 * Hashes addresses under `ERASURE_HASH_KEY` (the base64 of 32 bytes; empty: the development key). Keyed, so the
 * hashes of a leaked table cannot be matched against a list of addresses without the key. Not rotated: a new key
 * would no longer match the addresses erased under the old one.
 */
export function createAddressHasher(spec: string): AddressHasher {
  const key = spec.trim() === '' ? developmentKey : Buffer.from(spec.trim(), 'base64');
  if (key.length !== 32) throw new Error('ERASURE_HASH_KEY: the base64 of 32 bytes');
  return (address) => createHmac('sha256', key).update(address.trim().toLowerCase()).digest('hex');
}
