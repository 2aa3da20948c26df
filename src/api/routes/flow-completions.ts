import type { FastifyPluginCallback } from 'fastify';
import type { flowCompletionOperations } from '../../operations/flow-completions.js';
import { scopeOf } from '../auth.js';
import { id, responses } from '../schemas.js';

const tags = ['customers'];
const params = {
  type: 'object',
  required: ['id', 'flowId'],
  additionalProperties: false,
  properties: { id, flowId: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;
interface Params {
  id: string;
  flowId: string;
}
const body = {
  type: 'object',
  required: ['steps'],
  additionalProperties: false,
  properties: {
    steps: {
      type: 'array',
      minItems: 1,
      maxItems: 50,
      items: { type: 'string', minLength: 1, maxLength: 64 },
      description: 'the event types whose success completes an order of the flow',
    },
  },
} as const;

/**
 * `/v1/customers/{id}/flows/{flowId}/completion`: the steps that complete an order of the flow. Once each has
 * succeeded for an order, in whatever order and however often reported, one "order complete" notification goes out.
 */
export const flowCompletionRoutes: FastifyPluginCallback<{
  completions: ReturnType<typeof flowCompletionOperations>;
}> = (app, { completions }, done) => {
  const path = '/v1/customers/:id/flows/:flowId/completion';
  app.get<{ Params: Params }>(
    path,
    { schema: { tags, params, response: responses(200, 'The steps that complete an order', [400, 404]) } },
    (request) => completions.get(request.params.id, request.params.flowId, scopeOf(request)),
  );
  app.put<{ Params: Params; Body: { steps: string[] } }>(
    path,
    {
      schema: {
        tags,
        summary: 'Names the steps that complete an order of the flow',
        params,
        body,
        response: responses(200, 'The steps as stored', [400, 404]),
      },
    },
    (request) => completions.set(request.params.id, request.params.flowId, request.body.steps, scopeOf(request)),
  );
  app.delete<{ Params: Params }>(
    path,
    { schema: { tags, params, response: responses(204, 'Deleted', [400, 404]) } },
    async (request, reply) => {
      await completions.remove(request.params.id, request.params.flowId, scopeOf(request));
      return reply.code(204).send();
    },
  );
  done();
};
