import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { Logger } from 'pino';
import { submitOrderEvent } from '../client/order-events.js';
import { type Principal, apiKeyOperations } from '../operations/api-keys.js';
import { customerOperations } from '../operations/customers.js';
import { deadLetterOperations } from '../operations/dead-letters.js';
import { auditOperations } from '../operations/audit.js';
import { BadRequest, Conflict, NotFound } from '../operations/errors.js';
import type { SecretBox } from '../secrets.js';
import { WebhookDestinationForbidden, type destinationChecks } from '../webhook-destination.js';
import { notificationOperations } from '../operations/notifications.js';
import { replayOperations } from '../operations/replay.js';
import { type EndpointInput, type Scope, type SubscriptionInput, resourceOperations } from '../operations/resources.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

class Forbidden extends Error {}

const id = { type: 'string', pattern: '^[0-9]{1,20}$' } as const;
const idParams = { type: 'object', required: ['id'], properties: { id }, additionalProperties: false } as const;
const nullableString = { type: ['string', 'null'], maxLength: 255 } as const;
/** A positive whole number up to `maximum`, or null for the service's default. */
const nullableUpTo = (maximum: number) => ({ type: ['integer', 'null'], minimum: 1, maximum }) as const;
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
const webhookUrl = { type: 'string', format: 'uri', pattern: '^https?://', maxLength: 2048 } as const;

/**
 * Orderly's HTTP API (fastify): the operators' operations of the CLI, direct notifications, and customers'
 * subscriptions and webhook endpoints. Every request carries an API key (`Authorization: Bearer ok_...`);
 * a customer's key sees and changes only that customer's data, and anything else answers 404 as if it did
 * not exist. The OpenAPI document is served at /openapi.json.
 */
export async function buildApi({
  pool,
  client,
  destinations,
  secrets,
  secretGraceS,
  rateLimitPerMinute = 600,
  log,
  bodyLimit = 64 * 1024,
}: {
  pool: Pool;
  client: Client;
  /** Where webhook endpoints may point (checked when they are registered). */
  destinations: ReturnType<typeof destinationChecks>;
  /** Seals endpoint secrets; `secretGraceS`: how long a rotated one keeps signing. */
  secrets: SecretBox;
  secretGraceS: number;
  /** Requests per minute per API key. */
  rateLimitPerMinute?: number;
  log?: Logger;
  bodyLimit?: number;
}): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: log as FastifyBaseLogger | undefined,
    bodyLimit,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });
  const keys = apiKeyOperations({ pool });
  const notifications = notificationOperations({ pool, client });
  const deadLetters = deadLetterOperations({ pool, client });
  const customers = customerOperations({ pool, client });
  const replays = replayOperations({ pool, client });
  const resources = resourceOperations({ pool, destinations, secrets, secretGraceS });
  const audit = auditOperations({ pool });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Orderly API',
        version: '1',
        description:
          'Inspect, retry, cancel, redrive and replay notifications; manage subscriptions and webhook endpoints.',
      },
      components: {
        securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'an Orderly API key (ok_...)' } },
      },
      security: [{ apiKey: [] }],
    },
  });

  app.setErrorHandler((error: Error, request, reply) => {
    if (error instanceof NotFound) return reply.code(404).send({ error: error.message });
    if (error instanceof Conflict) return reply.code(409).send({ error: error.message });
    if (error instanceof BadRequest) return reply.code(400).send({ error: error.message });
    if (error instanceof Forbidden) return reply.code(403).send({ error: error.message });
    if (error instanceof WebhookDestinationForbidden)
      return reply.code(400).send({ error: error.message, rule: error.rule });
    const validation = (error as { validation?: unknown; validationContext?: string }).validation;
    if (validation !== undefined) return reply.code(400).send({ error: error.message });
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) return reply.code(status).send({ error: error.message });
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: 'internal error; the API log has the details' });
  });

  // A known path asked with a method it does not have answers 405 with the methods it has (RFC 9110), not 404.
  const methodsByPath = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const methods = methodsByPath.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) methods.add(method);
    methodsByPath.set(route.url, methods);
  });

  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  app.get('/health', { schema: { hide: true } }, () => ({ ok: true }));

  app.addHook('onRequest', async (request, reply) => {
    if (request.url === '/openapi.json' || request.url === '/health') return;
    const header = request.headers.authorization ?? '';
    const principal = header.startsWith('Bearer ')
      ? await keys.authenticate(header.slice('Bearer '.length).trim())
      : undefined;
    if (principal === undefined)
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'a valid API key is required (Authorization: Bearer ok_...)' });
    request.principal = principal;
  });

  // Per key, so one customer's script cannot starve the others; counted after authentication (preHandler).
  await app.register(rateLimit, {
    hook: 'preHandler',
    max: rateLimitPerMinute,
    timeWindow: '1 minute',
    keyGenerator: (request) => (request.principal === undefined ? request.ip : `key:${request.principal.keyId}`),
    errorResponseBuilder: (_request, context) =>
      Object.assign(
        new Error(`more than ${context.max} requests a minute with this API key; retry after ${context.after}`),
        { statusCode: 429 },
      ),
  });

  // Every state-changing request of a known key goes into the audit trail, whatever its outcome.
  app.addHook('onResponse', async (request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD' || request.principal === undefined) return;
    const { principal } = request;
    await audit.record({
      actor: `api-key:${principal.keyId}`,
      ...(principal.kind === 'customer' ? { customerId: principal.customerId } : {}),
      action: `${request.method} ${request.routeOptions.url ?? request.url}`,
      target: request.url,
      outcome: reply.statusCode < 400 ? 'ok' : `failed (${reply.statusCode})`,
    });
  });

  const scopeOf = (request: FastifyRequest): Scope =>
    request.principal.kind === 'admin' ? undefined : request.principal.customerId;
  const ensureOwn = (request: FastifyRequest, customerId: string, what: string) => {
    const scope = scopeOf(request);
    if (scope !== undefined && scope !== customerId) throw new NotFound(`there is no ${what}`);
  };
  const adminOnly = (request: FastifyRequest, what: string) => {
    if (request.principal.kind !== 'admin') throw new Forbidden(`${what} needs an operator key`);
  };
  async function eventCustomer(eventId: string): Promise<string> {
    const [rows] = await pool.execute<RowDataPacket[]>('SELECT customer_id FROM order_events WHERE id = ?', [eventId]);
    if (rows[0] === undefined) throw new NotFound(`there is no event ${eventId}`);
    return String(rows[0].customer_id);
  }

  // Events and orders
  app.get<{ Params: { id: string } }>(
    '/v1/events/:id',
    {
      schema: {
        tags: ['notifications'],
        summary: "An event's notifications: state, attempts, recipients",
        params: idParams,
      },
    },
    async (request) => {
      const status = await notifications.eventStatus(request.params.id);
      ensureOwn(request, status.customerId, `event ${request.params.id}`);
      return status;
    },
  );
  app.get<{ Params: { id: string } }>(
    '/v1/orders/:id',
    { schema: { tags: ['notifications'], summary: "An order's events and what happened to each", params: idParams } },
    async (request) => {
      const status = await notifications.orderStatus(request.params.id);
      ensureOwn(request, status.customerId, `order ${request.params.id}`);
      return status;
    },
  );
  app.post<{ Params: { id: string } }>(
    '/v1/events/:id/retry',
    { schema: { tags: ['notifications'], summary: 'A notification backing off tries again now', params: idParams } },
    async (request, reply) => {
      ensureOwn(request, await eventCustomer(request.params.id), `event ${request.params.id}`);
      await notifications.retry(request.params.id);
      return reply.code(202).send({ eventId: request.params.id, retrying: true });
    },
  );
  app.post<{ Params: { id: string }; Body: { reason?: string } | undefined }>(
    '/v1/events/:id/cancel',
    {
      schema: {
        tags: ['notifications'],
        summary: 'Stop a notification; the order moves on',
        params: idParams,
        body: {
          type: ['object', 'null'],
          properties: { reason: { type: 'string', minLength: 1, maxLength: 255 } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      ensureOwn(request, await eventCustomer(request.params.id), `event ${request.params.id}`);
      const reason = request.body?.reason ?? 'cancelled through the API';
      await notifications.cancel(request.params.id, reason);
      return reply.code(202).send({ eventId: request.params.id, cancelled: true, reason });
    },
  );

  // Direct notifications (no database change upstream)
  app.post<{
    Body: {
      orderId: string;
      flowId: string;
      eventType: string;
      status: 'success' | 'failure';
      source?: string;
      errorCode?: string | null;
      errorDesc?: string | null;
    };
  }>(
    '/v1/notifications',
    {
      schema: {
        tags: ['notifications'],
        summary: "Notify an order's subscribers directly, in order with the order's other events",
        body: {
          type: 'object',
          required: ['orderId', 'flowId', 'eventType', 'status'],
          additionalProperties: false,
          properties: {
            orderId: id,
            flowId: { type: 'string', minLength: 1, maxLength: 64 },
            eventType: { type: 'string', minLength: 1, maxLength: 64 },
            status: { type: 'string', enum: ['success', 'failure'] },
            source: { type: 'string', minLength: 1, maxLength: 255 },
            errorCode: { type: ['string', 'null'], maxLength: 64 },
            errorDesc: { type: ['string', 'null'], maxLength: 16_384 },
          },
        },
      },
    },
    async (request, reply) => {
      const [orders] = await pool.execute<RowDataPacket[]>('SELECT customer_id FROM orders WHERE id = ?', [
        request.body.orderId,
      ]);
      if (orders[0] === undefined) throw new NotFound(`there is no order ${request.body.orderId}`);
      const customerId = String(orders[0].customer_id);
      ensureOwn(request, customerId, `order ${request.body.orderId}`);
      const notificationId = `api-${crypto.randomUUID()}`;
      const event = {
        // Not a row of order_events: event id 0, known by its notification id.
        eventId: '0',
        notificationId,
        orderId: request.body.orderId,
        customerId,
        flowId: request.body.flowId,
        eventType: request.body.eventType,
        status: request.body.status,
        source: request.body.source ?? 'api',
        executionMs: null,
        errorCode: request.body.errorCode ?? null,
        errorDesc: request.body.errorDesc ?? null,
        occurredAt: new Date().toISOString(),
      };
      const workflowId = await submitOrderEvent({ client, pool }, event);
      return reply.code(202).send({ notificationId, workflowId });
    },
  );

  // Dead letters
  app.get<{ Querystring: { customer?: string; since?: string; status?: 'open' | 'redriven' | 'discarded' | 'all' } }>(
    '/v1/dead-letters',
    {
      schema: {
        tags: ['dead letters'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            customer: id,
            since: { type: 'string', format: 'date-time' },
            status: { type: 'string', enum: ['open', 'redriven', 'discarded', 'all'] },
          },
        },
      },
    },
    async (request) => {
      const scope = scopeOf(request);
      if (scope !== undefined && request.query.customer !== undefined && request.query.customer !== scope) return [];
      return deadLetters.list({
        customerId: scope ?? request.query.customer,
        since: request.query.since === undefined ? undefined : new Date(request.query.since),
        status: request.query.status,
      });
    },
  );
  app.get<{ Params: { id: string } }>(
    '/v1/dead-letters/:id',
    { schema: { tags: ['dead letters'], params: idParams } },
    async (request) => {
      const entry = await deadLetters.show(request.params.id);
      ensureOwn(request, entry.customerId, `dead letter ${request.params.id}`);
      return entry;
    },
  );
  app.post<{ Params: { id: string } }>(
    '/v1/dead-letters/:id/redrive',
    { schema: { tags: ['dead letters'], params: idParams } },
    async (request, reply) => {
      ensureOwn(request, (await deadLetters.show(request.params.id)).customerId, `dead letter ${request.params.id}`);
      return reply.code(202).send(await deadLetters.redrive(request.params.id));
    },
  );
  app.post<{ Params: { id: string }; Body: { reason?: string } | undefined }>(
    '/v1/dead-letters/:id/discard',
    {
      schema: {
        tags: ['dead letters'],
        params: idParams,
        body: {
          type: ['object', 'null'],
          properties: { reason: { type: 'string', minLength: 1, maxLength: 255 } },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      ensureOwn(request, (await deadLetters.show(request.params.id)).customerId, `dead letter ${request.params.id}`);
      return deadLetters.discard(request.params.id, request.body?.reason);
    },
  );

  // Customers: hold and release; replay (operators only)
  app.post<{ Params: { id: string } }>(
    '/v1/customers/:id/pause',
    { schema: { tags: ['customers'], params: idParams } },
    async (request) => {
      ensureOwn(request, request.params.id, `customer ${request.params.id}`);
      await customers.pause(request.params.id, 'paused through the API');
      return { customerId: request.params.id, held: true };
    },
  );
  app.post<{ Params: { id: string } }>(
    '/v1/customers/:id/resume',
    { schema: { tags: ['customers'], params: idParams } },
    async (request) => {
      ensureOwn(request, request.params.id, `customer ${request.params.id}`);
      return { customerId: request.params.id, held: false, ...(await customers.resume(request.params.id)) };
    },
  );
  app.post<{ Body: { from: string; to?: string; dryRun?: boolean } }>(
    '/v1/replay',
    {
      schema: {
        tags: ['operators'],
        body: {
          type: 'object',
          required: ['from'],
          additionalProperties: false,
          properties: {
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            dryRun: { type: 'boolean' },
          },
        },
      },
    },
    async (request) => {
      adminOnly(request, 'replay');
      const events = await replays.replay(
        new Date(request.body.from),
        request.body.to === undefined ? new Date() : new Date(request.body.to),
        { dryRun: request.body.dryRun },
      );
      return { dryRun: request.body.dryRun ?? false, events };
    },
  );

  // Subscriptions
  const subscriptionFields = {
    flowId: { type: ['string', 'null'], maxLength: 64 },
    onSuccess: { type: 'boolean' },
    onFailure: { type: 'boolean' },
    muted: { type: 'boolean' },
  } as const;
  app.get('/v1/subscriptions', { schema: { tags: ['subscriptions'] } }, (request) =>
    resources.listSubscriptions(scopeOf(request)),
  );
  app.get<{ Params: { id: string } }>(
    '/v1/subscriptions/:id',
    { schema: { tags: ['subscriptions'], params: idParams } },
    (request) => resources.getSubscription(request.params.id, scopeOf(request)),
  );
  app.post<{ Body: SubscriptionInput }>(
    '/v1/subscriptions',
    {
      schema: {
        tags: ['subscriptions'],
        body: {
          type: 'object',
          required: ['userId', 'channel'],
          additionalProperties: false,
          properties: {
            userId: id,
            channel: { type: 'string', enum: ['email', 'webhook'] },
            endpointId: { ...id, type: ['string', 'null'] },
            ...subscriptionFields,
          },
        },
      },
    },
    async (request, reply) => reply.code(201).send(await resources.createSubscription(request.body, scopeOf(request))),
  );
  app.patch<{ Params: { id: string }; Body: Partial<SubscriptionInput> }>(
    '/v1/subscriptions/:id',
    {
      schema: {
        tags: ['subscriptions'],
        params: idParams,
        body: { type: 'object', additionalProperties: false, properties: subscriptionFields },
      },
    },
    (request) => resources.updateSubscription(request.params.id, request.body, scopeOf(request)),
  );
  app.delete<{ Params: { id: string } }>(
    '/v1/subscriptions/:id',
    { schema: { tags: ['subscriptions'], params: idParams } },
    async (request, reply) => {
      await resources.deleteSubscription(request.params.id, scopeOf(request));
      return reply.code(204).send();
    },
  );

  // Webhook endpoints (the secret is shown once, at creation)
  app.get('/v1/webhook-endpoints', { schema: { tags: ['webhook endpoints'] } }, (request) =>
    resources.listEndpoints(scopeOf(request)),
  );
  app.get<{ Params: { id: string } }>(
    '/v1/webhook-endpoints/:id',
    { schema: { tags: ['webhook endpoints'], params: idParams } },
    (request) => resources.getEndpoint(request.params.id, scopeOf(request)),
  );
  app.post<{ Body: EndpointInput }>(
    '/v1/webhook-endpoints',
    {
      schema: {
        tags: ['webhook endpoints'],
        body: {
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
        },
      },
    },
    async (request, reply) => reply.code(201).send(await resources.createEndpoint(request.body, scopeOf(request))),
  );
  app.patch<{ Params: { id: string }; Body: Partial<EndpointInput> }>(
    '/v1/webhook-endpoints/:id',
    {
      schema: {
        tags: ['webhook endpoints'],
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            url: webhookUrl,
            enabled: { type: 'boolean' },
            disabledReason: nullableString,
            ...endpointPolicy,
          },
        },
      },
    },
    (request) => resources.updateEndpoint(request.params.id, request.body, scopeOf(request)),
  );
  app.post<{ Params: { id: string }; Body: { graceSeconds?: number } | undefined }>(
    '/v1/webhook-endpoints/:id/rotate-secret',
    {
      schema: {
        tags: ['webhook endpoints'],
        summary:
          'A new signing secret (shown once); the old one keeps signing beside it for the grace period (default 24 h)',
        params: idParams,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: { graceSeconds: { type: 'integer', minimum: 0, maximum: 30 * 24 * 3600 } },
        },
      },
    },
    (request) => resources.rotateEndpointSecret(request.params.id, scopeOf(request), request.body?.graceSeconds),
  );
  app.delete<{ Params: { id: string } }>(
    '/v1/webhook-endpoints/:id',
    { schema: { tags: ['webhook endpoints'], params: idParams } },
    async (request, reply) => {
      await resources.deleteEndpoint(request.params.id, scopeOf(request));
      return reply.code(204).send();
    },
  );

  // Audit trail
  app.get<{ Querystring: { since?: string; limit?: string } }>(
    '/v1/audit',
    {
      schema: {
        tags: ['audit'],
        summary:
          "State-changing actions, newest first: every one for operators, a customer's own keys' for a customer key",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            since: { type: 'string', format: 'date-time' },
            limit: {
              type: 'string',
              pattern: '^(1000|[1-9][0-9]{0,2})$',
              description: 'at most this many (1-1000, default 100)',
            },
          },
        },
      },
    },
    (request) =>
      audit.list({
        scope: scopeOf(request),
        since: request.query.since === undefined ? undefined : new Date(request.query.since),
        limit: request.query.limit === undefined ? undefined : Number(request.query.limit),
      }),
  );

  for (const [url, methods] of [...methodsByPath]) {
    const allow = [...methods].join(', ');
    const others = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((m) => !methods.has(m));
    if (others.length > 0) {
      app.route({
        method: others,
        url,
        schema: { hide: true },
        handler: (_request, reply) =>
          reply
            .code(405)
            .header('allow', allow)
            .send({ error: `${url} allows ${allow}` }),
      });
    }
  }
  return app;
}
