import type { FastifyPluginCallback, FastifyRequest } from 'fastify';
import type { DeadLetterStatus, deadLetterOperations } from '../../operations/dead-letters.js';
import { ensureOwn, scopeOf } from '../auth.js';
import { type IdParams, type ReasonBody, dateTime, id, idParams, reasonBody, responses } from '../schemas.js';

const tags = ['dead letters'];

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    customer: id,
    since: dateTime,
    status: { type: 'string', enum: ['open', 'redriven', 'discarded', 'all'] },
  },
} as const;

/** `/v1/dead-letters`: notifications that failed for good; list, show, redrive, discard. */
export const deadLetterRoutes: FastifyPluginCallback<{ deadLetters: ReturnType<typeof deadLetterOperations> }> = (
  app,
  { deadLetters },
  done,
) => {
  /** The dead letter, if it is the caller's to see. */
  const ownDeadLetter = async (request: FastifyRequest<{ Params: IdParams }>) => {
    const entry = await deadLetters.show(request.params.id);
    ensureOwn(request, entry.customerId, `dead letter ${request.params.id}`);
    return entry;
  };

  app.get<{ Querystring: { customer?: string; since?: string; status?: DeadLetterStatus | 'all' } }>(
    '/v1/dead-letters',
    { schema: { tags, querystring: listQuery, response: responses(200, 'The dead letters, oldest first', [400]) } },
    async (request) => {
      const scope = scopeOf(request);
      // A customer asking for another customer's finds none, as if there were none.
      if (scope !== undefined && request.query.customer !== undefined && request.query.customer !== scope) return [];
      return deadLetters.list({
        customerId: scope ?? request.query.customer,
        since: request.query.since === undefined ? undefined : new Date(request.query.since),
        status: request.query.status,
      });
    },
  );

  app.get<{ Params: IdParams }>(
    '/v1/dead-letters/:id',
    { schema: { tags, params: idParams, response: responses(200, 'The dead letter', [400, 404]) } },
    ownDeadLetter,
  );

  app.post<{ Params: IdParams }>(
    '/v1/dead-letters/:id/redrive',
    {
      schema: {
        tags,
        params: idParams,
        response: responses(202, 'Sent through its order again: the dead letter and the workflow id', [400, 404, 409]),
      },
    },
    async (request, reply) => {
      await ownDeadLetter(request);
      return reply.code(202).send(await deadLetters.redrive(request.params.id));
    },
  );

  app.post<{ Params: IdParams; Body: ReasonBody }>(
    '/v1/dead-letters/:id/discard',
    {
      schema: {
        tags,
        params: idParams,
        body: reasonBody,
        response: responses(200, 'The discarded dead letter', [400, 404, 409]),
      },
    },
    async (request) => {
      await ownDeadLetter(request);
      return deadLetters.discard(request.params.id, request.body?.reason);
    },
  );
  done();
};
