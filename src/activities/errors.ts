/**
 * What Orderly's activities fail with, in one place: a small tree of named errors, kafkajs-style (a `name` each,
 * one `retriable` flag). They reach workflows as Temporal `ApplicationFailure`s, never extended: {@link toFailure}
 * makes one whose `type` is the error's {@link ActivityError.type}, the stable string that retry policies'
 * `nonRetryableErrorTypes` and dead letters match.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { errorText, permanentErrors } from '../domain.js';

export class ActivityError extends Error {
  /** Worth another attempt: the same call may pass later. */
  readonly retriable: boolean;
  /** The failure's `type` on the wire. */
  readonly type: string;

  constructor(message: string, { retriable, type, cause }: { retriable: boolean; type: string; cause?: unknown }) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ActivityError';
    this.retriable = retriable;
    this.type = type;
  }
}

/** An answer that will never change: retrying cannot help. */
export class NonRetriableActivityError extends ActivityError {
  constructor(message: string, { type, cause }: { type: string; cause?: unknown }) {
    super(message, { retriable: false, type, cause });
    this.name = 'NonRetriableActivityError';
  }
}

export class UnknownOrder extends NonRetriableActivityError {
  constructor(orderId: string) {
    super(`order ${orderId} does not exist`, { type: permanentErrors.unknownOrder });
    this.name = 'UnknownOrder';
  }
}

export class UnknownCustomer extends NonRetriableActivityError {
  constructor(customerId: string) {
    super(`customer ${customerId} does not exist`, { type: permanentErrors.unknownCustomer });
    this.name = 'UnknownCustomer';
  }
}

/** The event names a customer that does not own its order. */
export class CustomerMismatch extends NonRetriableActivityError {
  constructor(orderId: string, owner: string, customerId: string) {
    super(`order ${orderId} belongs to customer ${owner}, not ${customerId}`, {
      type: permanentErrors.customerMismatch,
    });
    this.name = 'CustomerMismatch';
  }
}

export class InvalidRecipient extends NonRetriableActivityError {
  constructor(userId: string, address: string | null) {
    super(`user ${userId} has no valid email address (${JSON.stringify(address)})`, {
      type: permanentErrors.invalidRecipient,
    });
    this.name = 'InvalidRecipient';
  }
}

/** An SMTP 5xx reply: the server refused the message for good. */
export class SmtpPermanentFailure extends NonRetriableActivityError {
  constructor(reply: string, cause?: unknown) {
    super(`SMTP server refused the message permanently: ${reply}`, { type: permanentErrors.smtpRejected, cause });
    this.name = 'SmtpPermanentFailure';
  }
}

/** An SMTP 4xx reply: the server deferred the message. */
export class SmtpTransientFailure extends ActivityError {
  constructor(reply: string, cause?: unknown) {
    super(`SMTP server deferred the message: ${reply}`, { retriable: true, type: 'SmtpTransientFailure', cause });
    this.name = 'SmtpTransientFailure';
  }
}

/** No SMTP reply at all (refused, reset, timed out): its type is the socket error's code when there is one. */
export class SmtpConnectionFailure extends ActivityError {
  constructor(reply: string, code: string | undefined, cause?: unknown) {
    super(`SMTP connection failed: ${reply}`, { retriable: true, type: code ?? 'SmtpConnectionFailure', cause });
    this.name = 'SmtpConnectionFailure';
  }
}

/** The user's stored phone number is not a valid E.164 number: dead-lettered without asking any provider. */
export class InvalidPhoneNumber extends NonRetriableActivityError {
  constructor(userId: string, reason: string) {
    super(`user ${userId} has no valid phone number: ${reason}`, { type: permanentErrors.invalidPhoneNumber });
    this.name = 'InvalidPhoneNumber';
  }
}

/** Another attempt is sending this delivery now (its claim's lease is live): look again when the lease ends. */
export class DeliveryInFlight extends ActivityError {
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number) {
    super('another attempt is sending this delivery now', { retriable: true, type: 'DeliveryInFlight' });
    this.name = 'DeliveryInFlight';
    this.retryAfterMs = retryAfterMs;
  }
}

/** The delivery was closed without a send (cancelled, suppressed, dead-lettered) before this attempt: nothing goes. */
export class DeliveryClosed extends NonRetriableActivityError {
  constructor(state: string) {
    super(`the delivery is already ${state}; not sent`, { type: 'DeliveryClosed' });
    this.name = 'DeliveryClosed';
  }
}

/** The longest a `Retry-After` may hold a retry back: beyond it the retry policy's backoff decides. */
const maxRetryAfterMs = 60_000;

/**
 * The one mapper from an error to the failure a workflow sees: its `type` is the error's {@link ActivityError.type}
 * (a provider's error: its class name, `ProviderUnavailable`...), the one thing retries and failover branch on;
 * non-retryable unless the error is retriable; a `Retry-After` becomes the next retry's delay, bounded (Svix-style:
 * advice, not an order); the message is cut by {@link errorText}; `details` travel with it.
 */
export function toFailure(
  error: { message: string; name: string; type?: string; retriable: boolean; retryAfterMs?: number; cause?: unknown },
  details?: unknown[],
): ApplicationFailure {
  const { retryAfterMs } = error;
  const cause = error instanceof ActivityError ? error.cause : error;
  return ApplicationFailure.create({
    message: errorText(error.message),
    type: error.type ?? error.name,
    nonRetryable: !error.retriable,
    ...(details === undefined ? {} : { details }),
    ...(retryAfterMs === undefined ? {} : { nextRetryDelay: Math.min(Math.max(retryAfterMs, 1_000), maxRetryAfterMs) }),
    cause: cause instanceof Error ? cause : undefined,
  });
}
