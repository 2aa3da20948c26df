import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/**
 * The API's log serializer for requests: a recipient's link token (`?token=…`, the one-click and preference links)
 * is that recipient's credential, so request lines keep Fastify's fields with the token cut out of the URL,
 * whatever route (or no route) the request reached.
 */
export const withoutLinkToken = {
  req: (request: FastifyRequest) => ({
    method: request.method,
    url: request.url.replace(/([?&]token=)[^&#]*/g, '$1[redacted]'),
    host: request.host,
    remoteAddress: request.ip,
  }),
};

/** The API's logger: `log` with {@link withoutLinkToken} for every request line, a 404's or a 405's too. */
export const apiLogger = (log: Logger | undefined): FastifyBaseLogger | undefined =>
  log?.child({}, { serializers: withoutLinkToken });

/**
 * The API's 404 for a request no route takes. Fastify's own logs "Route GET:<url> not found" with the URL as given,
 * a link token included (a link pasted with a typo in its path); this one names the path only, in the log and the
 * answer alike.
 */
export function answerNotFound(request: FastifyRequest, reply: FastifyReply) {
  const message = `Route ${request.method}:${request.url.split('?')[0]} not found`;
  request.log.info(message);
  return reply.code(404).send({ error: 'Not Found', message, statusCode: 404 });
}
