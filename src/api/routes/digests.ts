import type { FastifyPluginCallback } from 'fastify';
import type { digestOperations } from '../../operations/digests.js';
import { scopeOf } from '../auth.js';
import { type IdParams, type ReasonBody, idParams, reasonBody, responses } from '../schemas.js';

const tags = ['digests'];

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    state: { type: 'string', enum: ['open', 'closed', 'sending', 'delivered', 'dead_lettered', 'cancelled'] },
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
  },
} as const;

/**
 * `/v1/digests`: recipients' digests (issue 24), newest first; show one with its events; flush one (send it now) or
 * cancel it (its events are not sent) while it is collecting. A customer's key sees and acts on its own.
 */
export const digestRoutes: FastifyPluginCallback<{ digests: ReturnType<typeof digestOperations> }> = (
  app,
  { digests },
  done,
) => {
  app.get<{ Querystring: { state?: string; limit?: number } }>(
    '/v1/digests',
    { schema: { tags, querystring: listQuery, response: responses(200, 'The digests, newest first', [400]) } },
    (request) => digests.list(scopeOf(request), request.query),
  );

  app.get<{ Params: IdParams }>(
    '/v1/digests/:id',
    {
      schema: { tags, params: idParams, response: responses(200, 'The digest, with its events in order', [400, 404]) },
    },
    (request) => digests.get(request.params.id, scopeOf(request)),
  );

  app.post<{ Params: IdParams }>(
    '/v1/digests/:id/flush',
    {
      schema: {
        tags,
        summary: 'Sends the digest now, with the events it holds',
        params: idParams,
        response: responses(202, 'Asked: the digest as it was', [400, 404, 409]),
      },
    },
    async (request, reply) => reply.code(202).send(await digests.flush(request.params.id, scopeOf(request))),
  );

  app.post<{ Params: IdParams; Body: ReasonBody }>(
    '/v1/digests/:id/cancel',
    {
      schema: {
        tags,
        summary: 'Cancels the digest: its events are recorded cancelled and not sent',
        params: idParams,
        body: reasonBody,
        response: responses(202, 'Asked: the digest as it was', [400, 404, 409]),
      },
    },
    async (request, reply) =>
      reply
        .code(202)
        .send(
          await digests.cancel(
            request.params.id,
            request.body?.reason ?? 'cancelled through the API',
            scopeOf(request),
          ),
        ),
  );
  done();
};
