import type { FastifyPluginCallback } from 'fastify';
import type { eventOperations } from '../../operations/events.js';
import { ensureOwn } from '../auth.js';
import { type IdParams, type ReasonBody, idParams, reasonBody, responses } from '../schemas.js';

/**
 * `/v1/events/:id`: an event's notifications, and the two signals operators send a running one (try again now,
 * cancel).
 */
export const eventRoutes: FastifyPluginCallback<{ events: ReturnType<typeof eventOperations> }> = (
  app,
  { events },
  done,
) => {
  app.get<{ Params: IdParams }>(
    '/v1/events/:id',
    {
      schema: {
        tags: ['notifications'],
        summary: "An event's notifications: state, attempts, recipients",
        params: idParams,
        response: responses(200, "The event and each of its notifications' state and recipients", [400, 404]),
      },
    },
    async (request) => {
      const status = await events.status(request.params.id);
      ensureOwn(request, status.customerId, `event ${request.params.id}`);
      return status;
    },
  );

  app.post<{ Params: IdParams }>(
    '/v1/events/:id/retry',
    {
      schema: {
        tags: ['notifications'],
        summary: 'A notification backing off tries again now',
        params: idParams,
        response: responses(202, 'The notification was asked to try again', [400, 404, 409]),
      },
    },
    async (request, reply) => {
      ensureOwn(request, await events.customerOf(request.params.id), `event ${request.params.id}`);
      await events.retry(request.params.id);
      return reply.code(202).send({ eventId: request.params.id, retrying: true });
    },
  );

  app.post<{ Params: IdParams; Body: ReasonBody }>(
    '/v1/events/:id/cancel',
    {
      schema: {
        tags: ['notifications'],
        summary: 'Stop a notification; the order moves on',
        params: idParams,
        body: reasonBody,
        response: responses(202, 'The notification was asked to stop', [400, 404, 409]),
      },
    },
    async (request, reply) => {
      ensureOwn(request, await events.customerOf(request.params.id), `event ${request.params.id}`);
      const reason = request.body?.reason ?? 'cancelled through the API';
      await events.cancel(request.params.id, reason);
      return reply.code(202).send({ eventId: request.params.id, cancelled: true, reason });
    },
  );
  done();
};
