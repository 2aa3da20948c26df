/**
 * What the ingest fails with, kafkajs-style (a `name` each, one `retriable` flag). A Temporal or MySQL outage is not
 * here: the ingest waits it out, holding the partition, and never gives up on the message.
 */

/** A message that can never become a notification: it goes to the dead-letter topic, not back to Kafka. */
export class MalformedChangeEvent extends Error {
  /** The same bytes will fail the same way: never worth another attempt. */
  readonly retriable = false;

  constructor(message: string) {
    super(message);
    this.name = 'MalformedChangeEvent';
  }
}

/**
 * A well-formed event that MySQL or Temporal refuses for good (an id past BIGINT, a start Temporal calls invalid): the
 * same event would be refused again, so it goes to the dead-letter topic instead of holding its partition forever.
 */
export class RejectedForGood extends Error {
  readonly retriable = false;

  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'RejectedForGood';
  }
}

/** MySQL's refusals of a value itself, in strict mode: no retry changes them. */
const refusedValues = new Set([
  'ER_WARN_DATA_OUT_OF_RANGE',
  'ER_DATA_TOO_LONG',
  'ER_TRUNCATED_WRONG_VALUE',
  'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD',
  'ER_BAD_NULL_ERROR',
]);
/** gRPC's INVALID_ARGUMENT: Temporal refuses the request itself, not for now. */
const grpcInvalidArgument = 3;

/** The error, as a `RejectedForGood`, when no retry can make it pass; undefined when one may. */
export function rejectedForGood(error: unknown): RejectedForGood | undefined {
  const { code, cause } = error as { code?: unknown; cause?: { code?: unknown } };
  const permanent =
    (typeof code === 'string' && refusedValues.has(code)) ||
    (error instanceof Error && error.name === 'ServiceError' && cause?.code === grpcInvalidArgument);
  if (!permanent) return undefined;
  return new RejectedForGood(error instanceof Error ? error.message : String(error), { cause: error });
}
