import type { FastifyPluginCallback } from 'fastify';
import type { DirectNotification, orderOperations } from '../../operations/orders.js';
import { ensureOwn } from '../auth.js';
import { id, responses } from '../schemas.js';

const notificationBody = {
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
} as const;

/** `/v1/notifications`: direct notifications (no database change upstream). */
export const notificationRoutes: FastifyPluginCallback<{ orders: ReturnType<typeof orderOperations> }> = (
  app,
  { orders },
  done,
) => {
  app.post<{ Body: Omit<DirectNotification, 'customerId'> }>(
    '/v1/notifications',
    {
      schema: {
        tags: ['notifications'],
        summary: "Notify an order's subscribers directly, in order with the order's other events",
        body: notificationBody,
        response: responses(202, 'The notification was started: its id and workflow id', [400, 404]),
      },
    },
    async (request, reply) => {
      const customerId = await orders.customerOf(request.body.orderId);
      ensureOwn(request, customerId, `order ${request.body.orderId}`);
      return reply.code(202).send(await orders.notify({ ...request.body, customerId }));
    },
  );
  done();
};
