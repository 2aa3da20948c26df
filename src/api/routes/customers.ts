import type { FastifyPluginCallback } from 'fastify';
import type { customerOperations } from '../../operations/customers.js';
import { ensureOwn } from '../auth.js';
import { type IdParams, idParams, responses } from '../schemas.js';

const tags = ['customers'];

/** `/v1/customers/:id/pause` and `/resume`: hold a customer's notifications, and release them. */
export const customerRoutes: FastifyPluginCallback<{ customers: ReturnType<typeof customerOperations> }> = (
  app,
  { customers },
  done,
) => {
  app.post<{ Params: IdParams }>(
    '/v1/customers/:id/pause',
    { schema: { tags, params: idParams, response: responses(200, 'The customer is held', [400, 404]) } },
    async (request) => {
      ensureOwn(request, request.params.id, `customer ${request.params.id}`);
      await customers.pause(request.params.id, 'paused through the API');
      return { customerId: request.params.id, held: true };
    },
  );

  app.post<{ Params: IdParams }>(
    '/v1/customers/:id/resume',
    {
      schema: {
        tags,
        params: idParams,
        response: responses(200, 'The customer is released, with how many held notifications woke', [400, 404]),
      },
    },
    async (request) => {
      ensureOwn(request, request.params.id, `customer ${request.params.id}`);
      return { customerId: request.params.id, held: false, ...(await customers.resume(request.params.id)) };
    },
  );
  done();
};
