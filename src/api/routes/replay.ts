import type { FastifyPluginCallback } from 'fastify';
import type { replayOperations } from '../../operations/replay.js';
import { adminOnly } from '../auth.js';
import { dateTime, responses } from '../schemas.js';

const replayBody = {
  type: 'object',
  required: ['from'],
  additionalProperties: false,
  properties: { from: dateTime, to: dateTime, dryRun: { type: 'boolean' } },
} as const;

/** `/v1/replay` (operators only): re-derive the notifications of a time window's events. */
export const replayRoutes: FastifyPluginCallback<{ replays: ReturnType<typeof replayOperations> }> = (
  app,
  { replays },
  done,
) => {
  app.post<{ Body: { from: string; to?: string; dryRun?: boolean } }>(
    '/v1/replay',
    {
      schema: {
        tags: ['operators'],
        body: replayBody,
        response: responses(200, 'The events sent again (or, with dryRun, that would be)', [400, 403]),
      },
    },
    async (request) => {
      adminOnly(request, 'replay');
      const events = await replays.replay(
        new Date(request.body.from),
        request.body.to === undefined ? new Date() : new Date(request.body.to),
        { dryRun: request.body.dryRun },
      );
      return { dryRun: request.body.dryRun ?? false, events };
    },
  );
  done();
};
