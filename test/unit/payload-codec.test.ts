import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { payloadCodecOf } from '../../src/payload-codec.js';

const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const recipient = { email: 'ada@example.test', username: 'Ada Lovelace', errorDesc: 'card declined' };
const payload = defaultPayloadConverter.toPayload(recipient);

describe('the payload codec', () => {
  it('encrypts the whole payload: nothing of it in the clear but the key id, and it decodes back', async () => {
    const a = key('a');
    const codec = payloadCodecOf(a);
    const [encoded] = await codec.encode([payload]);
    const bytes = Buffer.concat([encoded!.data!, ...Object.values(encoded!.metadata!)]).toString('latin1');
    for (const text of Object.values(recipient)) expect(bytes).not.toContain(text);
    expect(Buffer.from(encoded!.metadata!['encryption-key-id']!).toString()).toBe('a');
    const [decoded] = await codec.decode([encoded!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(recipient);
  });

  it('decodes what an older key encrypted after a rotation, and passes plain payloads through', async () => {
    const [a, b] = [key('a'), key('b')];
    const [old] = await payloadCodecOf(a).encode([payload]);
    const rotated = payloadCodecOf(`${b},${a}`);
    const [fresh] = await rotated.encode([payload]);
    expect(Buffer.from(fresh!.metadata!['encryption-key-id']!).toString()).toBe('b');
    const decoded = await rotated.decode([old!, fresh!, payload]);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([recipient, recipient, recipient]);
  });

  it('refuses a payload of a key it does not hold, and one changed in transit', async () => {
    const [encoded] = await payloadCodecOf(key('a')).encode([payload]);
    await expect(payloadCodecOf(key('b')).decode([encoded!])).rejects.toThrow(
      'a payload is encrypted with key "a", which PAYLOAD_ENCRYPTION_KEYS does not hold',
    );
    const a = key('a');
    const [sealed] = await payloadCodecOf(a).encode([payload]);
    sealed!.data![20]! ^= 1;
    await expect(payloadCodecOf(a).decode([sealed!])).rejects.toThrow();
  });
});
