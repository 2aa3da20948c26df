import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type LinkScope, createLinkSigner, unsubscribeTargets } from '../../src/recipient-links.js';

const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const scope: LinkScope = { userId: '21', channel: 'email', flowId: 'F1063', status: 'success' };
const day = 24 * 3600 * 1000;
const headerOf = (token: string): unknown => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());

describe('recipient links (signed, expiring tokens)', () => {
  it('round-trips the scope it names, with the signing key in the kid header', async () => {
    const signer = createLinkSigner(key('k1'));
    const token = await signer.sign(scope);
    expect(headerOf(token)).toEqual({ alg: 'HS256', kid: 'k1' });
    await expect(signer.verify(token)).resolves.toEqual(scope);
    const everyFlow = { ...scope, flowId: null, status: 'both' as const };
    await expect(signer.verify(await signer.sign(everyFlow))).resolves.toEqual(everyFlow);
  });

  it('refuses a token past its lifetime as expired, and takes it the day before', async () => {
    const signer = createLinkSigner(key('k1'), { ttlDays: 60 });
    const issued = new Date('2025-01-01T00:00:00Z');
    const token = await signer.sign(scope, issued);
    await expect(signer.verify(token, new Date(issued.getTime() + 59 * day))).resolves.toEqual(scope);
    await expect(signer.verify(token, new Date(issued.getTime() + 61 * day))).rejects.toMatchObject({
      name: 'InvalidLink',
      why: 'expired',
    });
  });

  it('refuses a forged signature, a changed payload and a token of another key with the same kid', async () => {
    const signer = createLinkSigner(key('k1'));
    const token = await signer.sign(scope);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const forgedSignature = `${header}.${payload}.${signature.slice(0, -4)}AAAA`;
    const otherUser = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: '22' }),
    ).toString('base64url');
    const impostor = await createLinkSigner(key('k1')).sign(scope);
    for (const forged of [forgedSignature, `${header}.${otherUser}.${signature}`, impostor, 'not-a-token', ''])
      await expect(signer.verify(forged)).rejects.toMatchObject({ name: 'InvalidLink', why: 'invalid' });
  });

  it('refuses a token signed by a key it does not list', async () => {
    const token = await createLinkSigner(key('old')).sign(scope);
    await expect(createLinkSigner(key('k1')).verify(token)).rejects.toThrow('the link is signed with an unknown key');
  });

  it('rotates: the new key signs, a token of the old key verifies while the old key is listed', async () => {
    const oldKey = key('k1');
    const newKey = key('k2');
    const before = createLinkSigner(oldKey);
    const oldToken = await before.sign(scope);
    const rotated = createLinkSigner(`${newKey},${oldKey}`);
    await expect(rotated.verify(oldToken)).resolves.toEqual(scope);
    const newToken = await rotated.sign(scope);
    expect(headerOf(newToken)).toMatchObject({ kid: 'k2' });
    await expect(before.verify(newToken)).rejects.toMatchObject({ why: 'invalid' });
    await expect(createLinkSigner(newKey).verify(oldToken)).rejects.toMatchObject({ why: 'invalid' });
  });

  it('has a development key when none is configured, and refuses a malformed key list', async () => {
    const signer = createLinkSigner('');
    await expect(signer.verify(await signer.sign(scope))).resolves.toEqual(scope);
    expect(() => createLinkSigner('k1:c2hvcnQ=')).toThrow(/LINK_SIGNING_KEYS: each entry is/);
  });

  it('builds the https one-click URL under the public base URL and a mailto on its host', () => {
    expect(unsubscribeTargets('https://orderly.example.com/', 'a.b.c')).toEqual({
      url: 'https://orderly.example.com/v1/unsubscribe/one-click?token=a.b.c',
      mail: 'mailto:unsubscribe@orderly.example.com?subject=unsubscribe-a.b.c',
    });
  });
});
