import { Writable } from 'node:stream';
import Fastify from 'fastify';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { answerNotFound, apiLogger } from '../../src/api/link-token-logging.js';
import { preferencesRoutes } from '../../src/api/routes/preferences.js';
import { createLinkSigner } from '../../src/recipient-links.js';
import { type Choice, preferencesOf } from '../../src/recipient-preferences.js';

const signer = createLinkSigner('');
const origin = 'https://orderly.example.com';
const form = { 'content-type': 'application/x-www-form-urlencoded' };
const preferences = preferencesOf(
  [{ flowId: 'F1063', onSuccess: true, onFailure: true, channel: 'email' }],
  [{ id: '1', channel: 'email', flowId: 'F1063', status: 'failure' }],
);

async function api(log?: pino.Logger) {
  const asked: string[] = [];
  const chosen: [string, Choice][] = [];
  const app = Fastify({ loggerInstance: apiLogger(log) });
  app.setNotFoundHandler(answerNotFound);
  await app.register(preferencesRoutes, {
    signer,
    publicBaseUrl: `${origin}/`,
    optOuts: {
      preferences: (userId: string) => {
        asked.push(userId);
        return Promise.resolve({ username: 'Ada <b>', preferences });
      },
      choose: (userId: string, choice: Choice) => {
        chosen.push([userId, choice]);
        return Promise.resolve({ username: 'Ada', preferences, changes: { off: [], on: [] } });
      },
    },
    // No quiet hours here: the browser e2e test sets them on MySQL.
    quietHours: {
      find: () => Promise.resolve(undefined),
      set: () => Promise.reject(new Error('not in this test')),
      remove: () => Promise.resolve(),
    },
    // Digest choices too: the browser e2e test makes them on MySQL.
    digests: {
      chosen: () => Promise.resolve(new Set<string>()),
      choose: () => Promise.resolve({ on: [], off: [] }),
    },
  });
  return { app, asked, chosen };
}

const body = (fields: [string, string][]) => new URLSearchParams(fields).toString();

describe('the preference page route', () => {
  it("shows the token's user's switches, in a form with labels, groups and the form token, without script", async () => {
    const { app, asked } = await api();
    const token = await signer.signPreferences('21');
    const reply = await app.inject({ method: 'GET', url: `/v1/preferences?token=${token}` });
    expect(reply.statusCode).toBe(200);
    expect(asked).toEqual(['21']);
    expect(reply.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'referrer-policy': 'same-origin',
      'cache-control': 'no-store',
    });
    expect(reply.headers['content-security-policy']).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
    const html = reply.body;
    expect(html).toContain(`<form action="?token=${token}" method="post">`);
    expect(html).toContain(`<input type="hidden" name="csrf" value="${signer.formToken(token)}"/>`);
    expect(html).toMatch(/<fieldset[^>]*><legend[^>]*>Flow F1063<\/legend>/);
    expect(html).toMatch(
      /<input type="checkbox" id="switch-0-0"[^>]* name="on" checked="" value="email success F1063"\/><label for="switch-0-0">Success events by email<\/label>/,
    );
    expect(html).toMatch(/<input type="checkbox" id="switch-0-1"[^>]* name="on" value="email failure F1063"\/>/);
    expect(html).toMatch(/<label for="mute">Mute everything<\/label>/);
    expect(html).toContain('Ada &lt;b&gt;, choose');
    expect(html).not.toMatch(/<script/i);
  });

  it('saves the form of its own page: the ticked switches, the shown ones and the mute switch', async () => {
    const { app, chosen } = await api();
    const token = await signer.signPreferences('21');
    const reply = await app.inject({
      method: 'POST',
      url: `/v1/preferences?token=${token}`,
      headers: { ...form, origin, 'sec-fetch-site': 'same-origin' },
      payload: body([
        ['csrf', signer.formToken(token)],
        ['shown', 'email success F1063'],
        ['shown', 'email failure F1063'],
        ['on', 'email failure F1063'],
        ['shown', 'mute'],
      ]),
    });
    expect([reply.statusCode, reply.headers['content-type']]).toEqual([200, 'text/html; charset=utf-8']);
    expect(reply.body).toMatch(/<p role="status"[^>]*>Saved. Nothing changed.<\/p>/);
    expect(chosen).toEqual([
      [
        '21',
        {
          on: new Set(['email failure F1063']),
          shown: new Set(['email success F1063', 'email failure F1063', 'mute']),
          muted: false,
        },
      ],
    ]);
  });

  it('refuses a post from another site (Sec-Fetch-Site, Origin) with 403, even with the right form token', async () => {
    const { app, chosen } = await api();
    const token = await signer.signPreferences('21');
    const post = (headers: Record<string, string>) =>
      app.inject({
        method: 'POST',
        url: `/v1/preferences?token=${token}`,
        headers: { ...form, ...headers },
        payload: body([['csrf', signer.formToken(token)]]),
      });
    const elsewhere: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'https://evil.example' },
      { origin: 'null' },
    ];
    for (const headers of elsewhere) {
      const reply = await post(headers);
      expect([reply.statusCode, reply.headers['content-type']], JSON.stringify(headers)).toEqual([
        403,
        'text/html; charset=utf-8',
      ]);
      expect(reply.body).toContain('This form was sent from another site. Nothing was changed.');
    }
    expect(chosen).toEqual([]);
    expect((await post({ origin, 'sec-fetch-site': 'same-origin' })).statusCode).toBe(200);
    expect((await post({})).statusCode, 'a client that says nothing: the form token decides').toBe(200);
  });

  it("refuses a post without the page's form token, or with another link's, with 403", async () => {
    const { app, chosen } = await api();
    const token = await signer.signPreferences('21');
    const otherLink = await signer.signPreferences('22');
    for (const payload of [
      body([['shown', 'mute']]),
      body([['csrf', '']]),
      body([['csrf', signer.formToken(otherLink)]]),
      body([['csrf', `${signer.formToken(token)}x`]]),
    ]) {
      const reply = await app.inject({ method: 'POST', url: `/v1/preferences?token=${token}`, headers: form, payload });
      expect(reply.statusCode, payload).toBe(403);
      expect(reply.body).toContain('This was not sent from your preference page, so nothing was changed.');
    }
    expect(chosen).toEqual([]);
  });

  it('answers 400 with a clear page, no stack, for a forged, expired, missing or one-click token', async () => {
    const { app, asked, chosen } = await api();
    const token = await signer.signPreferences('21');
    const expired = await signer.signPreferences('21', new Date(Date.now() - 61 * 24 * 3600 * 1000));
    const oneClick = await signer.sign({ userId: '21', channel: 'email', flowId: 'F1063', status: 'success' });
    for (const query of [`?token=${token.slice(0, -3)}AAA`, `?token=${oneClick}`, '', '?token=nonsense']) {
      for (const method of ['GET', 'POST'] as const) {
        const reply = await app.inject({
          method,
          url: `/v1/preferences${query}`,
          headers: form,
          payload: body([['csrf', signer.formToken(token)]]),
        });
        expect([reply.statusCode, reply.headers['content-type']], `${method} ${query}`).toEqual([
          400,
          'text/html; charset=utf-8',
        ]);
        expect(reply.body).toContain('This link to your notification preferences is not valid');
        expect(reply.body).not.toMatch(/at .*\.ts:\d+/);
      }
    }
    const old = await app.inject({ method: 'GET', url: `/v1/preferences?token=${expired}` });
    expect([old.statusCode, old.body]).toEqual([400, expect.stringContaining('has expired')]);
    expect([asked, chosen]).toEqual([[], []]);
  });

  it('keeps the link token out of the request log', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        lines.push(String(chunk));
        done();
      },
    });
    const { app } = await api(pino({ level: 'info' }, sink));
    const token = await signer.signPreferences('21');
    expect((await app.inject({ method: 'GET', url: `/v1/preferences?token=${token}` })).statusCode).toBe(200);
    // A request no route takes is logged too (404), as is a link pasted with a typo in its path.
    expect((await app.inject({ method: 'GET', url: `/v1/preference?token=${token}` })).statusCode).toBe(404);
    expect(lines.join('')).toContain('"url":"/v1/preferences?token=[redacted]"');
    expect(lines.join('')).toContain('"url":"/v1/preference?token=[redacted]"');
    expect(lines.join('')).not.toContain(token.split('.')[2]);
  });
});
