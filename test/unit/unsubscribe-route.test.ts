import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { unsubscribeRoutes } from '../../src/api/routes/unsubscribe.js';
import type { OptOutSource } from '../../src/operations/recipient-opt-outs.js';
import { type LinkScope, createLinkSigner } from '../../src/recipient-links.js';

const signer = createLinkSigner('');
const scope: LinkScope = { userId: '21', channel: 'email', flowId: 'F1063', status: 'success' };
const form = { 'content-type': 'application/x-www-form-urlencoded' };

async function api() {
  const recorded: [LinkScope, OptOutSource][] = [];
  const app = Fastify();
  await app.register(unsubscribeRoutes, {
    signer,
    optOuts: {
      record: (s: LinkScope, source: OptOutSource) => {
        recorded.push([s, source]);
        return Promise.resolve();
      },
    },
  });
  return { app, recorded };
}

describe('one-click unsubscribe route', () => {
  it('records the scope of a POST of List-Unsubscribe=One-Click and answers a plain sentence', async () => {
    const { app, recorded } = await api();
    const url = `/v1/unsubscribe/one-click?token=${await signer.sign(scope)}`;
    const reply = await app.inject({ method: 'POST', url, headers: form, payload: 'List-Unsubscribe=One-Click' });
    expect(reply.statusCode).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^text\/plain/);
    expect(reply.body).toBe('You will no longer receive emails about flow F1063 (success events).\n');
    expect(recorded).toEqual([[scope, 'one-click']]);
  });

  it('takes a multipart body too (RFC 8058 allows it)', async () => {
    const { app, recorded } = await api();
    const url = `/v1/unsubscribe/one-click?token=${await signer.sign(scope)}`;
    const payload = '--b\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--b--\r\n';
    const headers = { 'content-type': 'multipart/form-data; boundary=b' };
    expect((await app.inject({ method: 'POST', url, headers, payload })).statusCode).toBe(200);
    expect(recorded).toHaveLength(1);
  });

  it('shows a page with a POST button on GET, and unsubscribes nothing', async () => {
    const { app, recorded } = await api();
    const token = await signer.sign(scope);
    const reply = await app.inject({ method: 'GET', url: `/v1/unsubscribe/one-click?token=${token}` });
    expect(reply.statusCode).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^text\/html/);
    expect(reply.body).toContain(`<form action="/v1/unsubscribe/one-click?token=${token}" method="post">`);
    expect(reply.body).toContain('<input type="hidden" name="List-Unsubscribe" value="One-Click"/>');
    expect(reply.headers['content-security-policy']).toContain("default-src 'none'");
    expect(recorded).toEqual([]);
  });

  it('answers 400 with a clear message, no stack, for a forged, expired or missing token or a wrong body', async () => {
    const { app, recorded } = await api();
    const token = await signer.sign(scope);
    const expired = await signer.sign(scope, new Date(Date.now() - 61 * 24 * 3600 * 1000));
    const post = (query: string, payload = 'List-Unsubscribe=One-Click') =>
      app.inject({ method: 'POST', url: `/v1/unsubscribe/one-click${query}`, headers: form, payload });
    const forged = await post(`?token=${token.slice(0, -3)}AAA`);
    expect([forged.statusCode, forged.body]).toEqual([
      400,
      'This unsubscribe link is not valid: it may have been cut short or changed. Use the link in the email as it is.\n',
    ]);
    expect((await post(`?token=${expired}`)).body).toMatch(/has expired/);
    expect((await post('')).statusCode).toBe(400);
    expect((await post(`?token=${token}`, 'List-Unsubscribe=Something')).statusCode).toBe(400);
    const page = await app.inject({ method: 'GET', url: '/v1/unsubscribe/one-click?token=nonsense' });
    expect([page.statusCode, page.headers['content-type']]).toEqual([400, 'text/html; charset=utf-8']);
    expect(page.body).toContain('This unsubscribe link is not valid');
    expect(page.body).not.toMatch(/at .*\.ts:\d+/);
    expect(recorded).toEqual([]);
  });
});
