import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Webhook secrets at rest: AES-256-GCM under a key from configuration, stored as `v1:<key id>:<base64 of
 * iv | ciphertext | tag>`, so a row names the key that sealed it and keys can rotate. A value without that
 * prefix is a secret written in the clear (before encryption existed, or by SQL): read as is, sealed again
 * by the next `npm run migrate`.
 */
export interface SecretBox {
  seal(secret: string): string;
  open(stored: string): string;
  isSealed(stored: string): boolean;
  /** The id of the key that seals. */
  currentKeyId: string;
}

const prefix = 'v1:';
/** Used only outside production when no key is configured: secrets are not in the clear, but not secret either. */
const developmentKey = {
  id: 'development',
  key: createHash('sha256').update('orderly development secrets key').digest(),
};

/** Parses `SECRETS_ENCRYPTION_KEYS`; an empty list means the development key. */
export function createSecretBox(spec: string): SecretBox {
  const keys = parseKeyList('SECRETS_ENCRYPTION_KEYS', spec, developmentKey);
  const byId = new Map(keys.map((k) => [k.id, k.key]));
  const current = keys[0]!;
  return {
    currentKeyId: current.id,
    isSealed: (stored) => stored.startsWith(prefix),
    seal(secret) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current.key, iv);
      const sealed = Buffer.concat([iv, cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `${prefix}${current.id}:${sealed.toString('base64')}`;
    },
    open(stored) {
      if (!stored.startsWith(prefix)) return stored;
      const [keyId, data] = stored.slice(prefix.length).split(':');
      const key = byId.get(keyId ?? '');
      if (key === undefined || data === undefined)
        throw new Error(`a webhook secret is sealed with key "${keyId}", which SECRETS_ENCRYPTION_KEYS does not hold`);
      const bytes = Buffer.from(data, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString('utf8');
    },
  };
}

/** One key of a rotating list. */
export interface ListedKey {
  id: string;
  key: Buffer;
}

/**
 * Parses a key list setting (`<key id>:<base64 of 32 bytes>`, comma-separated): the first key is the current one,
 * every listed key still opens or verifies, so keys rotate by putting a new one first. Empty: the development key.
 */
export function parseKeyList(variable: string, spec: string, developmentKey: ListedKey): ListedKey[] {
  if (spec.trim() === '') return [developmentKey];
  return spec.split(',').map((raw) => {
    const entry = raw.trim();
    const separator = entry.indexOf(':');
    const id = entry.slice(0, separator);
    const key = Buffer.from(entry.slice(separator + 1), 'base64');
    if (separator < 1 || !/^[A-Za-z0-9_-]{1,32}$/.test(id) || key.length !== 32) {
      throw new Error(
        `${variable}: each entry is "<key id>:<base64 of 32 bytes>", not "${entry.slice(0, Math.max(separator, 0))}:..."`,
      );
    }
    return { id, key };
  });
}
