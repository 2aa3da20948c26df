import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal, apiKeyOperations } from '../operations/api-keys.js';
import { Forbidden, NotFound } from '../operations/errors.js';
import type { Scope } from '../operations/scope.js';
import { oneClickUnsubscribePath, preferencesPath } from '../recipient-links.js';
import { twilioStatusPath } from './routes/twilio.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; set by the authentication hook on every request but the public ones. */
    principal: Principal;
  }
}

/**
 * What needs no key: the API's description and health, providers' callbacks (Twilio's delivery receipts), which
 * prove themselves with a signature instead, and recipients' links, whose signed token is the proof.
 */
export const publicPaths = new Set([
  '/openapi.json',
  '/health',
  twilioStatusPath,
  oneClickUnsubscribePath,
  preferencesPath,
]);

/**
 * The `onRequest` hook that finds the principal of the request's API key (`Authorization: Bearer ok_...`), or
 * answers 401.
 */
export function authenticate(keys: ReturnType<typeof apiKeyOperations>) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (publicPaths.has(request.url.split('?')[0]!)) return;
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
  };
}

/** The customer whose data the caller may touch, or undefined for an operator (every customer's). */
export const scopeOf = (request: FastifyRequest): Scope =>
  request.principal.kind === 'admin' ? undefined : request.principal.customerId;

/** Something of another customer is answered exactly like something that does not exist: `there is no <what>`. */
export function ensureOwn(request: FastifyRequest, customerId: string, what: string): void {
  const scope = scopeOf(request);
  if (scope !== undefined && scope !== customerId) throw new NotFound(`there is no ${what}`);
}

/** Refuses a customer's key: `<what> needs an operator key`. */
export function adminOnly(request: FastifyRequest, what: string): void {
  if (request.principal.kind !== 'admin') throw new Forbidden(`${what} needs an operator key`);
}
