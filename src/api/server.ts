import { type AddressHasher, createAddressHasher } from '../address-hash.js';
import rateLimit from '@fastify/rate-limit';
import swagger, { type FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance } from 'fastify';
import type { WebhookCustomerLimits } from '../domain.js';
import type { Pool } from 'mysql2/promise';
import type { Logger } from 'pino';
import { apiKeyOperations } from '../operations/api-keys.js';
import { auditOperations } from '../operations/audit.js';
import { customerOperations } from '../operations/customers.js';
import { deadLetterOperations } from '../operations/dead-letters.js';
import { deliveryReceiptOperations } from '../operations/delivery-receipts.js';
import { eventOperations } from '../operations/events.js';
import { orderOperations } from '../operations/orders.js';
import { phoneNumberOperations } from '../operations/phone-numbers.js';
import { quietHoursOperations } from '../operations/quiet-hours.js';
import { flowCompletionOperations } from '../operations/flow-completions.js';
import { digestOperations } from '../operations/digests.js';
import { recipientDigestOperations } from '../operations/recipient-digests.js';
import { pushRegistrationOperations } from '../operations/push-registrations.js';
import { recipientOptOutOperations } from '../operations/recipient-opt-outs.js';
import { replayOperations } from '../operations/replay.js';
import { subscriptionOperations } from '../operations/subscriptions.js';
import { erasureOperations } from '../operations/erasure.js';
import { suppressionOperations } from '../operations/suppressions.js';
import { webhookEndpointOperations } from '../operations/webhook-endpoints.js';
import { type LinkSigner, createLinkSigner } from '../recipient-links.js';
import type { SecretBox } from '../secrets.js';
import type { destinationChecks } from '../webhook-destination.js';
import { authenticate } from './auth.js';
import { errorHandler } from './errors.js';
import { methodNotAllowed } from './method-not-allowed.js';
import { auditRoutes } from './routes/audit.js';
import { contactRoutes } from './routes/contacts.js';
import { quietHoursRoutes } from './routes/quiet-hours.js';
import { flowCompletionRoutes } from './routes/flow-completions.js';
import { digestRoutes } from './routes/digests.js';
import { codecRoutes } from './routes/codec.js';
import { payloadCodecOf } from '../payload-codec.js';
import type { PayloadCodec } from '@temporalio/common';
import { customerRoutes } from './routes/customers.js';
import { answerNotFound, apiLogger } from './link-token-logging.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { eventRoutes } from './routes/events.js';
import { notificationRoutes } from './routes/notifications.js';
import { orderRoutes } from './routes/orders.js';
import { preferencesRoutes } from './routes/preferences.js';
import { replayRoutes } from './routes/replay.js';
import { subscriptionRoutes } from './routes/subscriptions.js';
import { erasureRoutes } from './routes/erasure.js';
import { suppressionRoutes } from './routes/suppressions.js';
import { twilioStatusRoutes } from './routes/twilio.js';
import { unsubscribeRoutes } from './routes/unsubscribe.js';
import { webhookEndpointRoutes } from './routes/webhook-endpoints.js';

export interface ApiOptions {
  pool: Pool;
  client: Client;
  /** Where webhook endpoints may point (checked when they are registered). */
  destinations: ReturnType<typeof destinationChecks>;
  /** Seals endpoint secrets; `secretGraceS`: how long a rotated one keeps signing. */
  secrets: SecretBox;
  secretGraceS: number;
  /** What a customer's key may ask of an endpoint's policy (WEBHOOK_MAX_IN_FLIGHT_LIMIT...); no limit when unset. */
  webhookCustomerLimits?: WebhookCustomerLimits;
  /** Requests per minute per API key. */
  rateLimitPerMinute?: number;
  log?: Logger;
  /** The largest request body, in bytes. */
  bodyLimit?: number;
  /** The load balancers whose `X-Forwarded-For` names the client (API_TRUST_PROXY); none when empty. */
  trustProxy?: string[];
  /** Twilio's auth token, which signs its delivery receipts; unset, the receipts route answers 404. */
  twilioAuthToken?: string;
  /** Where the API is reached from outside (PUBLIC_BASE_URL): the URL Twilio signs is under it. */
  publicBaseUrl?: string;
  /** Verifies recipients' links (one-click unsubscribe, preference page); the development key when not given. */
  linkSigner?: LinkSigner;
  /** Temporal's payloads' codec, for the codec server's routes; the development key when not given. */
  payloadCodec?: PayloadCodec;
  /** How erased addresses stay on the suppression list (ERASURE_HASH_KEY); the development key when not given. */
  hashAddress?: AddressHasher;
}

const openapi: FastifyDynamicSwaggerOptions['openapi'] = {
  info: {
    title: 'Orderly API',
    version: '1',
    description:
      "Inspect, retry, cancel, redrive and replay notifications; manage subscriptions, webhook endpoints, users' phone numbers and push devices and the email suppression list; receive providers' delivery receipts; recipients' one-click unsubscribe and preference page.",
  },
  components: {
    securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'an Orderly API key (ok_...)' } },
  },
  security: [{ apiKey: [] }],
};

/**
 * Orderly's HTTP API (fastify): the operators' operations of the CLI, direct notifications, customers'
 * subscriptions, webhook endpoints and users' contacts (phone numbers, push devices), and Twilio's delivery receipts. Every request carries an API key (`Authorization: Bearer ok_...`);
 * a customer's key sees and changes only that customer's data, and anything else answers 404 as if it did
 * not exist. The OpenAPI document is served at /openapi.json. The routes are in ./routes/, one module per resource.
 */
export async function buildApi(options: ApiOptions): Promise<FastifyInstance> {
  const { pool, rateLimitPerMinute = 600, log, bodyLimit = 64 * 1024, trustProxy = [] } = options;
  const app: FastifyInstance = Fastify({
    loggerInstance: apiLogger(log),
    bodyLimit,
    trustProxy: trustProxy.length > 0 ? trustProxy : false,
    // An email address in the path (`/v1/suppressions/{address}`) may be up to 320 characters.
    routerOptions: { maxParamLength: 320 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });
  await app.register(swagger, { openapi });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(answerNotFound);
  const addMethodNotAllowed = methodNotAllowed(app);

  // Public, and registered before the rate limit, so neither counts against a key.
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  app.get('/health', { schema: { hide: true } }, () => ({ ok: true }));

  app.addHook('onRequest', authenticate(apiKeyOperations({ pool })));
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

  // Every state-changing request of a known key goes into the audit trail, whatever its outcome, before its
  // answer leaves: a client that reads the trail after its request finds it there, in the order it asked.
  const audit = auditOperations({ pool });
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.method === 'GET' || request.method === 'HEAD' || request.principal === undefined) return payload;
    const { principal } = request;
    try {
      await audit.record({
        actor: `api-key:${principal.keyId}`,
        ...(principal.kind === 'customer' ? { customerId: principal.customerId } : {}),
        action: `${request.method} ${request.routeOptions.url ?? request.url}`,
        target: request.url,
        outcome: reply.statusCode < 400 ? 'ok' : `failed (${reply.statusCode})`,
      });
    } catch (error) {
      // The action itself has run; answering 500 would tell the client it had not.
      request.log.error({ err: error }, 'could not write the audit trail entry for this request');
    }
    return payload;
  });

  await registerRoutes(app, options, audit);
  addMethodNotAllowed();
  return app;
}

/** Every resource's routes, each module a plugin given the operations it needs. */
async function registerRoutes(
  app: FastifyInstance,
  {
    pool,
    client,
    destinations,
    secrets,
    secretGraceS,
    webhookCustomerLimits,
    twilioAuthToken,
    publicBaseUrl,
    linkSigner,
    payloadCodec,
    hashAddress,
  }: ApiOptions,
  audit: ReturnType<typeof auditOperations>,
): Promise<void> {
  const orders = orderOperations({ pool, client });
  const baseUrl = publicBaseUrl ?? 'http://127.0.0.1:8080';
  await app.register(eventRoutes, { events: eventOperations({ pool, client }) });
  await app.register(orderRoutes, { orders });
  await app.register(notificationRoutes, { orders });
  await app.register(deadLetterRoutes, { deadLetters: deadLetterOperations({ pool, client }) });
  await app.register(customerRoutes, { customers: customerOperations({ pool, client }) });
  await app.register(replayRoutes, { replays: replayOperations({ pool, client }) });
  await app.register(subscriptionRoutes, { subscriptions: subscriptionOperations({ pool }) });
  await app.register(suppressionRoutes, { suppressions: suppressionOperations({ pool }) });
  await app.register(erasureRoutes, {
    erasure: erasureOperations({ pool, hashAddress: hashAddress ?? createAddressHasher('') }),
  });
  const endpoints = webhookEndpointOperations({
    pool,
    destinations,
    secrets,
    secretGraceS,
    customerLimits: webhookCustomerLimits,
  });
  await app.register(webhookEndpointRoutes, { endpoints });
  await app.register(auditRoutes, { audit });
  await app.register(contactRoutes, {
    phoneNumbers: phoneNumberOperations({ pool }),
    pushRegistrations: pushRegistrationOperations({ pool, destinations }),
  });
  const quietHours = quietHoursOperations({ pool });
  await app.register(quietHoursRoutes, { quietHours });
  await app.register(flowCompletionRoutes, { completions: flowCompletionOperations({ pool }) });
  await app.register(digestRoutes, { digests: digestOperations({ pool, client }) });
  await app.register(codecRoutes, { codec: payloadCodec ?? payloadCodecOf('') });
  await app.register(twilioStatusRoutes, {
    receipts: deliveryReceiptOperations({ pool }),
    authToken: twilioAuthToken,
    publicBaseUrl: baseUrl,
  });
  const signer = linkSigner ?? createLinkSigner('');
  const optOuts = recipientOptOutOperations({ pool });
  await app.register(unsubscribeRoutes, { signer, optOuts });
  const digests = recipientDigestOperations({ pool });
  await app.register(preferencesRoutes, { signer, optOuts, quietHours, digests, publicBaseUrl: baseUrl });
}
