import formbody from '@fastify/formbody';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { recipientOptOutOperations } from '../../operations/recipient-opt-outs.js';
import { messagePage, recipientPageHeaders, unsubscribePage } from '../pages/recipient-pages.js';
import { InvalidLink, type LinkScope, type LinkSigner, oneClickUnsubscribePath } from '../../recipient-links.js';

const oneClickBody = 'List-Unsubscribe=One-Click';

const page = { type: 'string', description: 'a short page for a person (text/html) or a sentence (text/plain)' };
const pageResponse = (description: string) => ({
  description,
  content: { 'text/html': { schema: page }, 'text/plain': { schema: page } },
});
const querystring = {
  type: 'object',
  properties: { token: { type: 'string', description: 'the signed token of the link in the mail' } },
} as const;

/**
 * `/v1/unsubscribe/one-click?token=…`, public (the token is the proof), rate limited per address like the rest:
 * a POST of `List-Unsubscribe=One-Click` (RFC 8058, as mailbox providers send it, or the button of the GET page)
 * records the opt-out the token names, with no further step; a GET (a person following the link) only shows a page
 * with that button, since RFC 8058 forbids unsubscribing on GET. A missing, expired or forged token answers 400
 * with a page saying so.
 */
export const unsubscribeRoutes: FastifyPluginAsync<{
  signer: LinkSigner;
  optOuts: Pick<ReturnType<typeof recipientOptOutOperations>, 'record'>;
}> = async (app, { signer, optOuts }) => {
  // Form bodies for this route only (RFC 8058 allows multipart too: read as text, the field looked for in it).
  await app.register(formbody);
  app.addContentTypeParser('multipart/form-data', { parseAs: 'string' }, (_request, body, done) =>
    done(null, { multipart: body }),
  );

  app.get<{ Querystring: { token?: string } }>(
    oneClickUnsubscribePath,
    {
      schema: {
        tags: ['recipients'],
        summary: 'The page of a one-click unsubscribe link: a button that unsubscribes (GET itself changes nothing)',
        security: [],
        querystring,
        response: { 200: pageResponse('A page with the unsubscribe button'), 400: pageResponse('An invalid link') },
      },
    },
    async (request, reply) => {
      const scope = await scopeOf(signer, request, reply);
      if (scope === undefined) return reply;
      const action = `${oneClickUnsubscribePath}?token=${encodeURIComponent(request.query.token ?? '')}`;
      return reply.headers(recipientPageHeaders).send(unsubscribePage(`Stop the emails about ${what(scope)}?`, action));
    },
  );

  app.post<{ Querystring: { token?: string }; Body: unknown }>(
    oneClickUnsubscribePath,
    {
      schema: {
        tags: ['recipients'],
        summary: 'One-click unsubscribe (RFC 8058): records that the recipient turned off what the token names',
        security: [],
        consumes: ['application/x-www-form-urlencoded', 'multipart/form-data'],
        querystring,
        response: { 200: pageResponse('Unsubscribed (again, too)'), 400: pageResponse('An invalid link or body') },
      },
    },
    async (request, reply) => {
      const scope = await scopeOf(signer, request, reply);
      if (scope === undefined) return reply;
      if (!isOneClick(request.body))
        return answer(request, reply, 400, 'Not unsubscribed', `This address takes a POST of ${oneClickBody}.`);
      await optOuts.record(scope, 'one-click');
      request.log.info({ ...scope }, 'recipient unsubscribed (one-click)');
      return answer(request, reply, 200, 'Unsubscribed', `You will no longer receive emails about ${what(scope)}.`);
    },
  );
};

/** The scope of the request's token, or undefined once a 400 page saying why has been sent. */
async function scopeOf(
  signer: LinkSigner,
  request: FastifyRequest<{ Querystring: { token?: string } }>,
  reply: FastifyReply,
): Promise<LinkScope | undefined> {
  try {
    return await signer.verify(request.query.token ?? '');
  } catch (error) {
    if (!(error instanceof InvalidLink)) throw error;
    const advice =
      error.why === 'expired'
        ? 'This unsubscribe link has expired. Use the link in a more recent email.'
        : 'This unsubscribe link is not valid: it may have been cut short or changed. Use the link in the email as it is.';
    await answer(request, reply, 400, 'Link not valid', advice);
    return undefined;
  }
}

/** A page for a person (GET, or a browser that accepts HTML), a sentence for a mailbox provider. */
function answer(request: FastifyRequest, reply: FastifyReply, status: 200 | 400, title: string, sentence: string) {
  const wantsHtml = request.method === 'GET' || (request.headers.accept ?? '').includes('text/html');
  return wantsHtml
    ? reply.code(status).headers(recipientPageHeaders).send(messagePage(title, sentence))
    : reply.code(status).type('text/plain; charset=utf-8').send(`${sentence}\n`);
}

function isOneClick(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const { multipart, 'List-Unsubscribe': field } = body as { multipart?: unknown; 'List-Unsubscribe'?: unknown };
  if (typeof multipart === 'string')
    return /name="List-Unsubscribe"\r?\n(?:[^\r\n]+\r?\n)*\r?\nOne-Click\r?\n/.test(multipart);
  return [field].flat().includes('One-Click');
}

const what = (scope: LinkScope) =>
  `${scope.flowId === null ? 'every flow' : `flow ${scope.flowId}`}${scope.status === 'both' ? '' : ` (${scope.status} events)`}`;
