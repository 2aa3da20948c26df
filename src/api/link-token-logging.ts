import type { FastifyRequest } from 'fastify';

/**
 * Log serializers for the routes whose query carries a recipient's link token (`?token=…`): the token is the
 * recipient's credential, so their request lines keep Fastify's fields with the token cut out of the URL.
 */
export const withoutLinkToken = {
  req: (request: FastifyRequest) => ({
    method: request.method,
    url: request.url.replace(/([?&]token=)[^&#]*/g, '$1[redacted]'),
    host: request.host,
    remoteAddress: request.ip,
  }),
};
