import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequest, Conflict, Forbidden, NotFound } from '../operations/errors.js';
import { WebhookDestinationForbidden } from '../webhook-destination.js';

/** The status code of each error of the operations layer. */
const statusOf = new Map<new (message: string) => Error, number>([
  [NotFound, 404],
  [Conflict, 409],
  [BadRequest, 400],
  [Forbidden, 403],
]);

/**
 * The API's one error handler: every error answers `{ "error": "<its message>" }` with the status its class stands
 * for. A webhook URL refused by the destination policy names the rule it broke; Fastify's own client errors
 * (validation, body too large, rate limit) keep their status; anything else is a 500 whose details go to the log.
 */
export function errorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  for (const [errorClass, status] of statusOf)
    if (error instanceof errorClass) return reply.code(status).send({ error: error.message });
  if (error instanceof WebhookDestinationForbidden)
    return reply.code(400).send({ error: error.message, rule: error.rule });
  if ((error as FastifyError).validation !== undefined) return reply.code(400).send({ error: error.message });
  const status = (error as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) return reply.code(status).send({ error: error.message });
  request.log.error({ err: error }, 'request failed');
  return reply.code(500).send({ error: 'internal error; the API log has the details' });
}
