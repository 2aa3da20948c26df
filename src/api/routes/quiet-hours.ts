import type { FastifyPluginCallback } from 'fastify';
import type { QuietHoursInput, quietHoursOperations } from '../../operations/quiet-hours.js';
import { scopeOf } from '../auth.js';
import { type IdParams, idParams, responses } from '../schemas.js';

const tags = ['contacts'];
const time = { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'local HH:MM' } as const;

const quietHoursBody = {
  type: 'object',
  required: ['timeZone', 'startsAt', 'endsAt'],
  additionalProperties: false,
  properties: {
    timeZone: { type: 'string', minLength: 1, maxLength: 64, description: 'an IANA time zone (Europe/Paris)' },
    startsAt: time,
    endsAt: { ...time, description: 'local HH:MM, exclusive; before startsAt, the window spans midnight' },
    channels: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', enum: ['email', 'sms', 'push', 'webhook'] },
      description: 'the channels held in the window (default sms and push)',
    },
    failuresExempt: { type: 'boolean', description: 'failure notifications go out even in the window' },
  },
} as const;

/**
 * When a user is not to be disturbed: `/v1/users/{id}/quiet-hours`, one daily window in the user's time zone. A
 * notification on one of its channels that falls inside waits until it ends; the order's next ones wait behind it.
 */
export const quietHoursRoutes: FastifyPluginCallback<{ quietHours: ReturnType<typeof quietHoursOperations> }> = (
  app,
  { quietHours },
  done,
) => {
  app.get<{ Params: IdParams }>(
    '/v1/users/:id/quiet-hours',
    { schema: { tags, params: idParams, response: responses(200, "The user's quiet hours", [400, 404]) } },
    (request) => quietHours.get(request.params.id, scopeOf(request)),
  );

  app.put<{ Params: IdParams; Body: QuietHoursInput }>(
    '/v1/users/:id/quiet-hours',
    {
      schema: {
        tags,
        summary: "Sets or replaces the user's quiet hours; an unknown time zone answers 400",
        params: idParams,
        body: quietHoursBody,
        response: responses(200, 'The quiet hours as stored', [400, 404]),
      },
    },
    (request) => quietHours.set(request.params.id, request.body, scopeOf(request)),
  );

  app.delete<{ Params: IdParams }>(
    '/v1/users/:id/quiet-hours',
    { schema: { tags, params: idParams, response: responses(204, 'Deleted', [400, 404]) } },
    async (request, reply) => {
      await quietHours.remove(request.params.id, scopeOf(request));
      return reply.code(204).send();
    },
  );
  done();
};
