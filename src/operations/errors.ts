/*
 * The errors of the operations layer, shared by the CLI (which prints their message) and the HTTP API (whose
 * error handler, src/api/errors.ts, maps each class to a status code). Each carries its class name in `name`.
 */

/** An id that names nothing: the CLI and the API say so in one sentence (the API as 404). */
export class NotFound extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFound';
  }
}

/** A request that makes no sense as asked (a replay window that is too long, say): 400. */
export class BadRequest extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadRequest';
  }
}

/** Something only an operator may do, asked with a customer's key (a replay, say): 403. */
export class Forbidden extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Forbidden';
  }
}

/** A request that cannot be carried out in the current state (redriving a discarded dead letter, say): 409. */
export class Conflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Conflict';
  }
}

/** Ids are decimal numbers (BIGINT); anything else names nothing. */
export function requireId(kind: string, value: string): string {
  if (!/^\d{1,20}$/.test(value)) throw new NotFound(`there is no ${kind} ${JSON.stringify(value)}`);
  return value;
}
