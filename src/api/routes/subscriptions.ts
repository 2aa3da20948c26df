import type { FastifyPluginCallback } from 'fastify';
import type { SubscriptionInput, SubscriptionPatch, subscriptionOperations } from '../../operations/subscriptions.js';
import { scopeOf } from '../auth.js';
import { type IdParams, id, idParams, responses } from '../schemas.js';

const tags = ['subscriptions'];

/** What may change after creation. */
const subscriptionFields = {
  flowId: { type: ['string', 'null'], maxLength: 64 },
  onSuccess: { type: 'boolean' },
  onFailure: { type: 'boolean' },
  muted: { type: 'boolean' },
  digest: {
    type: ['object', 'null'],
    description: 'collect the events into one message per window (email and webhook); null: each goes on its own',
    required: ['windowS'],
    additionalProperties: false,
    properties: {
      windowS: {
        type: 'integer',
        minimum: 1,
        maximum: 604800,
        description: 'seconds from the first event to the send',
      },
      maxItems: { type: 'integer', minimum: 1, maximum: 500, description: 'sent at once when it holds this many' },
    },
  },
} as const;

const createBody = {
  type: 'object',
  required: ['userId', 'channel'],
  additionalProperties: false,
  properties: {
    userId: id,
    channel: { type: 'string', enum: ['email', 'webhook', 'sms', 'push'] },
    endpointId: { ...id, type: ['string', 'null'] },
    ...subscriptionFields,
  },
} as const;

const patchBody = { type: 'object', additionalProperties: false, properties: subscriptionFields } as const;

/** `/v1/subscriptions`: which users hear of which events, by email or webhook; a customer's key sees its own. */
export const subscriptionRoutes: FastifyPluginCallback<{
  subscriptions: ReturnType<typeof subscriptionOperations>;
}> = (app, { subscriptions }, done) => {
  app.get('/v1/subscriptions', { schema: { tags, response: responses(200, 'The subscriptions') } }, (request) =>
    subscriptions.list(scopeOf(request)),
  );

  app.get<{ Params: IdParams }>(
    '/v1/subscriptions/:id',
    { schema: { tags, params: idParams, response: responses(200, 'The subscription', [400, 404]) } },
    (request) => subscriptions.get(request.params.id, scopeOf(request)),
  );

  app.post<{ Body: SubscriptionInput }>(
    '/v1/subscriptions',
    { schema: { tags, body: createBody, response: responses(201, 'The new subscription', [400, 404, 409]) } },
    async (request, reply) => reply.code(201).send(await subscriptions.create(request.body, scopeOf(request))),
  );

  app.patch<{ Params: IdParams; Body: SubscriptionPatch }>(
    '/v1/subscriptions/:id',
    {
      schema: { tags, params: idParams, body: patchBody, response: responses(200, 'The subscription', [400, 404]) },
    },
    (request) => subscriptions.update(request.params.id, request.body, scopeOf(request)),
  );

  app.delete<{ Params: IdParams }>(
    '/v1/subscriptions/:id',
    { schema: { tags, params: idParams, response: responses(204, 'Deleted', [400, 404]) } },
    async (request, reply) => {
      await subscriptions.remove(request.params.id, scopeOf(request));
      return reply.code(204).send();
    },
  );
  done();
};
