import type { FastifyPluginCallback } from 'fastify';
import type { EndpointInput, EndpointPatch, webhookEndpointOperations } from '../../operations/webhook-endpoints.js';
import { scopeOf } from '../auth.js';
import { type IdParams, errorBody, id, idParams, nullableString, nullableUpTo, responses } from '../schemas.js';

const tags = ['webhook endpoints'];

const webhookUrl = { type: 'string', format: 'uri', pattern: '^https?://', maxLength: 2048 } as const;

/** Bounds that make sense for a webhook endpoint (and fit the INT UNSIGNED columns). */
const endpointPolicy = {
  retryScheduleS: {
    type: ['array', 'null'],
    items: { type: 'number', minimum: 0, maximum: 7 * 24 * 3600 },
    minItems: 1,
    maxItems: 50,
  },
  maxAgeS: nullableUpTo(30 * 24 * 3600),
  rateLimitPerS: nullableUpTo(10_000),
  maxInFlight: nullableUpTo(1_000),
  circuitFailureThreshold: nullableUpTo(1_000),
  circuitCooldownS: nullableUpTo(24 * 3600),
} as const;

const createBody = {
  type: 'object',
  required: ['customerId', 'url'],
  additionalProperties: false,
  properties: {
    customerId: id,
    url: webhookUrl,
    secret: { type: 'string', pattern: '^whsec_[A-Za-z0-9+/=]{32,}$' },
    enabled: { type: 'boolean' },
    ...endpointPolicy,
  },
} as const;

const patchBody = {
  type: 'object',
  additionalProperties: false,
  properties: { url: webhookUrl, enabled: { type: 'boolean' }, disabledReason: nullableString, ...endpointPolicy },
} as const;

const rotateBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { graceSeconds: { type: 'integer', minimum: 0, maximum: 30 * 24 * 3600 } },
} as const;

/** A URL the destination policy refuses (a private address, say) is a 400 that names the rule it broke. */
const refusedUrl = {
  400: {
    ...errorBody,
    properties: { ...errorBody.properties, rule: { type: 'string', description: 'the destination rule broken' } },
  },
};

/** `/v1/webhook-endpoints`: where a customer's webhooks go (the secret is shown once, at creation). */
export const webhookEndpointRoutes: FastifyPluginCallback<{
  endpoints: ReturnType<typeof webhookEndpointOperations>;
}> = (app, { endpoints }, done) => {
  app.get('/v1/webhook-endpoints', { schema: { tags, response: responses(200, 'The webhook endpoints') } }, (request) =>
    endpoints.list(scopeOf(request)),
  );

  app.get<{ Params: IdParams }>(
    '/v1/webhook-endpoints/:id',
    { schema: { tags, params: idParams, response: responses(200, 'The webhook endpoint', [400, 404]) } },
    (request) => endpoints.get(request.params.id, scopeOf(request)),
  );

  app.post<{ Body: EndpointInput }>(
    '/v1/webhook-endpoints',
    {
      schema: {
        tags,
        body: createBody,
        response: responses(201, 'The new webhook endpoint, with its secret (this once)', [400, 404], refusedUrl),
      },
    },
    async (request, reply) => reply.code(201).send(await endpoints.create(request.body, scopeOf(request))),
  );

  app.patch<{ Params: IdParams; Body: EndpointPatch }>(
    '/v1/webhook-endpoints/:id',
    {
      schema: {
        tags,
        params: idParams,
        body: patchBody,
        response: responses(200, 'The webhook endpoint', [400, 404], refusedUrl),
      },
    },
    (request) => endpoints.update(request.params.id, request.body, scopeOf(request)),
  );

  app.post<{ Params: IdParams; Body: { graceSeconds?: number } | undefined }>(
    '/v1/webhook-endpoints/:id/rotate-secret',
    {
      schema: {
        tags,
        summary:
          'A new signing secret (shown once); the old one keeps signing beside it for the grace period (default 24 h)',
        params: idParams,
        body: rotateBody,
        response: responses(200, 'The new secret, and until when the previous one keeps signing', [400, 404]),
      },
    },
    (request) => endpoints.rotateSecret(request.params.id, scopeOf(request), request.body?.graceSeconds),
  );

  app.delete<{ Params: IdParams }>(
    '/v1/webhook-endpoints/:id',
    { schema: { tags, params: idParams, response: responses(204, 'Deleted', [400, 404]) } },
    async (request, reply) => {
      await endpoints.remove(request.params.id, scopeOf(request));
      return reply.code(204).send();
    },
  );
  done();
};
