import type { FastifyPluginCallback } from 'fastify';
import type { auditOperations } from '../../operations/audit.js';
import { scopeOf } from '../auth.js';
import { dateTime, responses } from '../schemas.js';

const auditQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    since: dateTime,
    limit: {
      type: 'string',
      pattern: '^(1000|[1-9][0-9]{0,2})$',
      description: 'at most this many (1-1000, default 100)',
    },
  },
} as const;

/** `/v1/audit`: the audit trail, as far as the caller may see it. */
export const auditRoutes: FastifyPluginCallback<{ audit: ReturnType<typeof auditOperations> }> = (
  app,
  { audit },
  done,
) => {
  app.get<{ Querystring: { since?: string; limit?: string } }>(
    '/v1/audit',
    {
      schema: {
        tags: ['audit'],
        summary:
          "State-changing actions, newest first: every one for operators, a customer's own keys' for a customer key",
        querystring: auditQuery,
        response: responses(200, 'The actions, newest first', [400]),
      },
    },
    (request) =>
      audit.list({
        scope: scopeOf(request),
        since: request.query.since === undefined ? undefined : new Date(request.query.since),
        limit: request.query.limit === undefined ? undefined : Number(request.query.limit),
      }),
  );
  done();
};
