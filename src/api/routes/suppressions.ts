import type { FastifyPluginCallback } from 'fastify';
import type { SuppressionFilter, suppressionOperations } from '../../operations/suppressions.js';
import { scopeOf } from '../auth.js';
import { dateTime, id, responses } from '../schemas.js';

const tags = ['suppressions'];

/** An email address as the suppression list keeps it (RFC 5321 allows up to 320 characters, one `@`). */
const address = { type: 'string', minLength: 3, maxLength: 320, pattern: '^[^@\\s/]+@[^@\\s/]+$' } as const;

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    customer: { ...id, description: "only addresses of this customer's users" },
    address,
    reason: { type: 'string', enum: ['permanent', 'transient'] },
    state: {
      type: 'string',
      enum: ['suppressed', 'all'],
      description: 'suppressed (default) or all: with addresses whose transient failures are still being counted',
    },
    since: { ...dateTime, description: 'only those last reported since' },
    after: { ...id, description: 'the next page: entries after this id' },
    limit: {
      type: 'string',
      pattern: '^(1000|[1-9][0-9]{0,2})$',
      description: 'at most this many (1-1000, default 100)',
    },
  },
} as const;

const addressParams = {
  type: 'object',
  required: ['address'],
  additionalProperties: false,
  properties: { address },
} as const;

type ListQuery = Omit<SuppressionFilter, 'customerId' | 'since' | 'limit'> & {
  customer?: string;
  since?: string;
  limit?: string;
};

/**
 * `/v1/suppressions`: email addresses that bounced (the suppression list). Operators see and clear every address;
 * a customer's key only those of its own users, and not one that another customer's users have too (409).
 */
export const suppressionRoutes: FastifyPluginCallback<{ suppressions: ReturnType<typeof suppressionOperations> }> = (
  app,
  { suppressions },
  done,
) => {
  app.get<{ Querystring: ListQuery }>(
    '/v1/suppressions',
    {
      schema: {
        tags,
        summary: 'Addresses on the suppression list, in id order (page on with `after`)',
        querystring: listQuery,
        response: responses(200, 'The entries, in id order', [400]),
      },
    },
    (request) => {
      const { customer, since, limit, ...filter } = request.query;
      return suppressions.list(
        {
          ...filter,
          customerId: customer,
          since: since === undefined ? undefined : new Date(since),
          limit: limit === undefined ? undefined : Number(limit),
        },
        scopeOf(request),
      );
    },
  );

  app.delete<{ Params: { address: string } }>(
    '/v1/suppressions/:address',
    {
      schema: {
        tags,
        summary: 'Take an address off the list (its transient count too): mail goes to it again',
        params: addressParams,
        // An address longer than the router takes (maxParamLength, src/api/server.ts) is refused before the schema.
        response: responses(200, 'The entry removed', [400, 404, 409, 414]),
      },
    },
    (request) => suppressions.clear(request.params.address, scopeOf(request)),
  );
  done();
};
