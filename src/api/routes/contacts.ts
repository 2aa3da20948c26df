import type { FastifyPluginCallback } from 'fastify';
import type { PhoneNumberInput, phoneNumberOperations } from '../../operations/phone-numbers.js';
import type { PushRegistrationInput, pushRegistrationOperations } from '../../operations/push-registrations.js';
import { scopeOf } from '../auth.js';
import { type IdParams, idParams, responses } from '../schemas.js';

const tags = ['contacts'];

const phoneBody = {
  type: 'object',
  required: ['number'],
  additionalProperties: false,
  properties: {
    number: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      description: 'international (+44 7400 123456), or national (07400 123456) with country',
    },
    country: { type: 'string', pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2, for national formats' },
  },
} as const;

/** Validated loosely here (shape and sizes); the key lengths and the https endpoint by the operation, by name. */
const webPushSubscription = {
  type: 'object',
  description: 'what PushSubscription.toJSON() gives in the browser',
  required: ['endpoint', 'keys'],
  properties: {
    endpoint: { type: 'string', maxLength: 2048 },
    expirationTime: { type: ['number', 'null'] },
    keys: {
      type: 'object',
      required: ['p256dh', 'auth'],
      properties: { p256dh: { type: 'string', maxLength: 128 }, auth: { type: 'string', maxLength: 64 } },
    },
  },
} as const;

const pushBody = {
  type: 'object',
  required: ['kind'],
  additionalProperties: false,
  description: 'web-push with subscription, or fcm with token',
  properties: {
    kind: { type: 'string', enum: ['web-push', 'fcm'] },
    subscription: webPushSubscription,
    token: { type: 'string', maxLength: 4096, description: 'an FCM registration token' },
  },
} as const;

/**
 * Where a customer's users are reached besides email: `/v1/users/{id}/phone-number` (one mobile number, kept in
 * E.164) and `/v1/users/{id}/push-registrations` (browsers and apps). A customer's key sees its own users only.
 */
export const contactRoutes: FastifyPluginCallback<{
  phoneNumbers: ReturnType<typeof phoneNumberOperations>;
  pushRegistrations: ReturnType<typeof pushRegistrationOperations>;
}> = (app, { phoneNumbers, pushRegistrations }, done) => {
  app.get<{ Params: IdParams }>(
    '/v1/users/:id/phone-number',
    { schema: { tags, params: idParams, response: responses(200, "The user's phone number", [400, 404]) } },
    (request) => phoneNumbers.get(request.params.id, scopeOf(request)),
  );

  app.put<{ Params: IdParams; Body: PhoneNumberInput }>(
    '/v1/users/:id/phone-number',
    {
      schema: {
        tags,
        summary: "Sets or replaces the user's mobile number (stored in E.164); an invalid number answers 400",
        params: idParams,
        body: phoneBody,
        response: responses(200, 'The phone number as stored', [400, 404]),
      },
    },
    (request) => phoneNumbers.set(request.params.id, request.body, scopeOf(request)),
  );

  app.delete<{ Params: IdParams }>(
    '/v1/users/:id/phone-number',
    { schema: { tags, params: idParams, response: responses(204, 'Deleted', [400, 404]) } },
    async (request, reply) => {
      await phoneNumbers.remove(request.params.id, scopeOf(request));
      return reply.code(204).send();
    },
  );

  app.get<{ Params: IdParams }>(
    '/v1/users/:id/push-registrations',
    { schema: { tags, params: idParams, response: responses(200, "The user's push registrations", [400, 404]) } },
    (request) => pushRegistrations.list(request.params.id, scopeOf(request)),
  );

  app.post<{ Params: IdParams; Body: PushRegistrationInput }>(
    '/v1/users/:id/push-registrations',
    {
      schema: {
        tags,
        summary: 'Registers a device; the same device registered again answers 200 with the existing registration',
        params: idParams,
        body: pushBody,
        response: {
          ...responses(201, 'The new registration (never the browser secret)', [400, 404]),
          200: { description: 'The device was registered already: its registration' },
        },
      },
    },
    async (request, reply) => {
      const { registration, created } = await pushRegistrations.register(
        request.params.id,
        request.body,
        scopeOf(request),
      );
      return reply.code(created ? 201 : 200).send(registration);
    },
  );

  app.delete<{ Params: IdParams }>(
    '/v1/push-registrations/:id',
    { schema: { tags, params: idParams, response: responses(204, 'Deleted', [400, 404]) } },
    async (request, reply) => {
      await pushRegistrations.remove(request.params.id, scopeOf(request));
      return reply.code(204).send();
    },
  );
  done();
};
