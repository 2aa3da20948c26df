import type { FastifyPluginCallback } from 'fastify';
import type { orderOperations } from '../../operations/orders.js';
import { ensureOwn } from '../auth.js';
import { type IdParams, idParams, responses } from '../schemas.js';

/** `/v1/orders/:id`: an order's events and what happened to each. */
export const orderRoutes: FastifyPluginCallback<{ orders: ReturnType<typeof orderOperations> }> = (
  app,
  { orders },
  done,
) => {
  app.get<{ Params: IdParams }>(
    '/v1/orders/:id',
    {
      schema: {
        tags: ['notifications'],
        summary: "An order's events and what happened to each",
        params: idParams,
        response: responses(200, "The order's running notifications and its events' deliveries", [400, 404]),
      },
    },
    async (request) => {
      const status = await orders.status(request.params.id);
      ensureOwn(request, status.customerId, `order ${request.params.id}`);
      return status;
    },
  );
  done();
};
