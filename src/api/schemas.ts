/*
 * JSON schema pieces shared by the routes (Fastify validates requests with them; @fastify/swagger documents them).
 * Each route module keeps the schemas only it uses.
 */

/** Ids are decimal BIGINTs, sent as strings. */
export const id = { type: 'string', pattern: '^[0-9]{1,20}$' } as const;

/** Route parameters of `/.../:id`. */
export const idParams = { type: 'object', required: ['id'], properties: { id }, additionalProperties: false } as const;
export interface IdParams {
  id: string;
}

export const dateTime = { type: 'string', format: 'date-time' } as const;
export const nullableString = { type: ['string', 'null'], maxLength: 255 } as const;

/** A positive whole number up to `maximum`, or null for the service's default. */
export const nullableUpTo = (maximum: number) => ({ type: ['integer', 'null'], minimum: 1, maximum }) as const;

/** An optional body with an optional reason (cancelling a notification, discarding a dead letter). */
export const reasonBody = {
  type: ['object', 'null'],
  properties: { reason: { type: 'string', minLength: 1, maxLength: 255 } },
  additionalProperties: false,
} as const;
export type ReasonBody = { reason?: string } | undefined;

/** Every error answers `{ "error": "<one sentence>" }` (src/api/errors.ts). */
export const errorBody = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'string' } },
  additionalProperties: true,
} as const;

type ErrorStatus = 400 | 403 | 404 | 409 | 414;

const errorDescriptions = {
  400: 'The request does not match its schema, or makes no sense as asked',
  401: 'No valid API key (Authorization: Bearer ok_...)',
  403: 'Only an operator key may do this',
  404: 'Nothing with this id that the API key may see',
  409: 'Not possible in the current state',
  414: 'A path parameter longer than the API takes',
  429: 'Too many requests a minute with this API key',
} as const;

/**
 * The responses of an authenticated route, for the OpenAPI document: its success (no schema: any JSON, serialized
 * as it is) and the errors it answers besides 401 and 429, which every such route can. `overrides` replaces the
 * schema of an error whose body says more.
 */
export function responses(
  status: 200 | 201 | 202 | 204,
  description: string,
  errors: ErrorStatus[] = [],
  overrides: Partial<Record<ErrorStatus, object>> = {},
) {
  const codes = [...errors, 401, 429].sort() as (keyof typeof errorDescriptions)[];
  return {
    [status]: status === 204 ? { description, type: 'null' } : { description },
    ...Object.fromEntries(
      codes.map((code) => [
        code,
        { description: errorDescriptions[code], ...(overrides[code as ErrorStatus] ?? errorBody) },
      ]),
    ),
  };
}
