/** An id that names nothing: the CLI and the API say so in one sentence (the API as 404). */
export class NotFound extends Error {}

/** A request that makes no sense as asked (a replay window that is too long, say): 400. */
export class BadRequest extends Error {}

/** A request that cannot be carried out in the current state (redriving a discarded dead letter, say): 409. */
export class Conflict extends Error {}

/** Ids are decimal numbers (BIGINT); anything else names nothing. */
export function requireId(kind: string, value: string): string {
  if (!/^\d{1,20}$/.test(value)) throw new NotFound(`there is no ${kind} ${JSON.stringify(value)}`);
  return value;
}
