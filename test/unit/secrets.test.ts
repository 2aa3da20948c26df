import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAddressHasher } from '../../src/address-hash.js';
import { loadConfig } from '../../src/config.js';
import { createSecretBox } from '../../src/secrets.js';

const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;

describe('webhook secrets at rest (AES-256-GCM)', () => {
  it('seals a secret so the stored value holds neither it nor its key, and opens it again', () => {
    const box = createSecretBox(key('k1'));
    const sealed = box.seal('whsec_abc');
    expect(sealed).toMatch(/^v1:k1:[A-Za-z0-9+/=]+$/);
    expect(sealed).not.toContain('abc');
    expect(box.seal('whsec_abc')).not.toBe(sealed); // a fresh IV each time
    expect(box.open(sealed)).toBe('whsec_abc');
  });

  it('rotates keys: a new first key seals, the old one still opens what it sealed', () => {
    const [k1, k2] = [key('k1'), key('k2')];
    const old = createSecretBox(k1).seal('whsec_old');
    const rotated = createSecretBox(`${k2},${k1}`);
    expect(rotated.open(old)).toBe('whsec_old');
    expect(rotated.seal('whsec_new')).toMatch(/^v1:k2:/);
    expect(() => createSecretBox(k2).open(old)).toThrow(
      'a webhook secret is sealed with key "k1", which SECRETS_ENCRYPTION_KEYS does not hold',
    );
  });

  it('refuses a tampered value, reads a secret written in the clear as it is, and rejects a malformed key', () => {
    const box = createSecretBox(key('k1'));
    const sealed = box.seal('whsec_abc');
    const tampered = `${sealed.slice(0, -6)}AAAAAA`;
    expect(() => box.open(tampered)).toThrow();
    expect(box.open('whsec_clear')).toBe('whsec_clear');
    expect(() => createSecretBox('k1:c2hvcnQ=')).toThrow(/each entry is "<key id>:<base64 of 32 bytes>"/);
  });

  it('makes a missing key a one-sentence start-up error in production', () => {
    expect(() => loadConfig({ ORDERLY_ENV: 'production' })).toThrow(
      'Invalid configuration: SECRETS_ENCRYPTION_KEYS is required when ORDERLY_ENV=production (e.g. "k1:" followed by the base64 of 32 random bytes).',
    );
    expect(() => loadConfig({ ORDERLY_ENV: 'production', SECRETS_ENCRYPTION_KEYS: key('k1') })).toThrow(
      'Invalid configuration: LINK_SIGNING_KEYS is required when ORDERLY_ENV=production',
    );
    expect(() =>
      loadConfig({ ORDERLY_ENV: 'production', SECRETS_ENCRYPTION_KEYS: key('k1'), LINK_SIGNING_KEYS: key('l1') }),
    ).toThrow('Invalid configuration: PAYLOAD_ENCRYPTION_KEYS is required when ORDERLY_ENV=production');
    const production = {
      ORDERLY_ENV: 'production',
      SECRETS_ENCRYPTION_KEYS: key('k1'),
      LINK_SIGNING_KEYS: key('l1'),
      PAYLOAD_ENCRYPTION_KEYS: key('p1'),
    };
    expect(() => loadConfig(production)).toThrow(
      'Invalid configuration: ERASURE_HASH_KEY is required when ORDERLY_ENV=production (e.g. the base64 of 32 random bytes).',
    );
    expect(loadConfig({ ...production, ERASURE_HASH_KEY: randomBytes(32).toString('base64') }).ORDERLY_ENV).toBe(
      'production',
    );
  });

  it('hashes an erased address under its key, whatever its case, and refuses a key of the wrong size', () => {
    const hash = createAddressHasher(randomBytes(32).toString('base64'));
    expect(hash('Ann@Example.com')).toBe(hash('ann@example.com'));
    expect(hash('ann@example.com')).toMatch(/^[0-9a-f]{64}$/);
    expect(createAddressHasher(randomBytes(32).toString('base64'))('ann@example.com')).not.toBe(
      hash('ann@example.com'),
    );
    expect(() => createAddressHasher('c2hvcnQ=')).toThrow('ERASURE_HASH_KEY: the base64 of 32 bytes');
  });
});
