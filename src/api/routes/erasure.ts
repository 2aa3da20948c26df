import type { FastifyPluginCallback } from 'fastify';
import type { erasureOperations } from '../../operations/erasure.js';
import { scopeOf } from '../auth.js';
import { type IdParams, idParams, responses } from '../schemas.js';

/**
 * `POST /v1/users/{id}/erasure`: erases a recipient's personal data from Orderly's tables (a data subject's request),
 * and says what remains where. A customer's key erases its own users only.
 */
export const erasureRoutes: FastifyPluginCallback<{ erasure: ReturnType<typeof erasureOperations> }> = (
  app,
  { erasure },
  done,
) => {
  app.post<{ Params: IdParams }>(
    '/v1/users/:id/erasure',
    {
      schema: {
        tags: ['contacts'],
        summary:
          "Erases the user's name, address, phone number, push devices, quiet hours and digest choices; later events for them are suppressed",
        params: idParams,
        response: responses(200, 'What was erased (rows per table) and what remains where', [400, 404]),
      },
    },
    (request) => erasure.erase(request.params.id, scopeOf(request)),
  );
  done();
};
