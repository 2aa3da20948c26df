import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type LinkScope, createLinkSigner, preferencesUrl, unsubscribeTargets } from '../../src/recipient-links.js';

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

  it('preference tokens name one user, expire like the others, and verify under a rotated key list', async () => {
    const oldKey = key('k1');
    const signer = createLinkSigner(oldKey, { ttlDays: 60 });
    const issued = new Date('2025-01-01T00:00:00Z');
    const token = await signer.signPreferences('21', issued);
    await expect(signer.verifyPreferences(token, new Date(issued.getTime() + 59 * day))).resolves.toBe('21');
    await expect(signer.verifyPreferences(token, new Date(issued.getTime() + 61 * day))).rejects.toMatchObject({
      why: 'expired',
    });
    const recent = await signer.signPreferences('21');
    await expect(createLinkSigner(`${key('k2')},${oldKey}`).verifyPreferences(recent)).resolves.toBe('21');
    const [header, payload, signature] = recent.split('.') as [string, string, string];
    const otherUser = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: '22' }),
    ).toString('base64url');
    await expect(signer.verifyPreferences(`${header}.${otherUser}.${signature}`)).rejects.toMatchObject({
      why: 'invalid',
    });
  });

  it('keeps the two kinds apart: a one-click token opens no preference page, a preference token unsubscribes nothing', async () => {
    const signer = createLinkSigner(key('k1'));
    await expect(signer.verifyPreferences(await signer.sign(scope))).rejects.toMatchObject({ why: 'invalid' });
    await expect(signer.verify(await signer.signPreferences('21'))).rejects.toMatchObject({ why: 'invalid' });
  });

  it("binds a form token to its link token: another link's, another key's or a changed one is refused", async () => {
    const oldKey = key('k1');
    const signer = createLinkSigner(oldKey);
    const link = await signer.signPreferences('21');
    const other = await signer.signPreferences('22');
    const form = signer.formToken(link);
    expect(form).toMatch(/^k1\.[A-Za-z0-9_-]{43}$/);
    expect(signer.checkFormToken(link, form)).toBe(true);
    expect(signer.checkFormToken(other, form), "another link's page").toBe(false);
    expect(signer.checkFormToken(link, signer.formToken(other))).toBe(false);
    expect(signer.checkFormToken(link, createLinkSigner(key('k1')).formToken(link)), 'same kid, other key').toBe(false);
    for (const forged of ['', 'k1', 'k1.', `${form.slice(0, -2)}AA`, `k9.${form.slice(3)}`, `${form}A`])
      expect(signer.checkFormToken(link, forged), forged).toBe(false);
    const rotated = createLinkSigner(`${key('k2')},${oldKey}`);
    expect(rotated.checkFormToken(link, form), 'an old key still listed').toBe(true);
    expect(rotated.formToken(link)).toMatch(/^k2\./);
  });

  it('builds the preference page URL under the public base URL', () => {
    expect(preferencesUrl('https://orderly.example.com/', 'a.b+c')).toBe(
      'https://orderly.example.com/v1/preferences?token=a.b%2Bc',
    );
  });
});
