import { fieldGroups } from './fields.js';

/** Where a complaint says the mail it is about came from: what may name one of our deliveries. */
export interface ComplaintReferences {
  /** The report's `Original-Mail-From`: the original's envelope sender, our bounce address. */
  originalMailFrom?: string;
  /** The returned original's `Return-Path`, set from the envelope sender by the receiving server. */
  returnPath?: string;
  /** The returned original's `X-Orderly-Delivery`, the bounce address's token, for feedback loops that strip both. */
  deliveryToken?: string;
}

/** What a feedback report (RFC 5965 ARF) says: its type and what names the mail it is about. */
export interface Feedback {
  /** `Feedback-Type`, lower case: `abuse`, `fraud`, `not-spam`, `auth-failure`, ... */
  feedbackType: string;
  references: ComplaintReferences;
}

/**
 * Feedback types that are a recipient's complaint about the mail (RFC 5965 section 7.3): such a report unsubscribes
 * the recipient. The others (`not-spam`, `virus`, `auth-failure` and the like) say nothing about wanting it.
 */
export const complaintTypes: ReadonlySet<string> = new Set(['abuse', 'fraud']);

const bracketed = (value: string | undefined) => value?.replace(/^\s*<?\s*|\s*>?\s*$/g, '') || undefined;

/**
 * Reads the `message/feedback-report` part's fields and the returned original's headers (`message/rfc822` or
 * `text/rfc822-headers`, either read by mailparser into `originalHeaders`). Undefined when there is no
 * `Feedback-Type`, which RFC 5965 requires.
 */
export function feedbackOf(
  reportPart: string,
  originalHeaders: { get(name: string): unknown } | undefined,
): Feedback | undefined {
  const fields = fieldGroups(reportPart)[0];
  const feedbackType = fields?.get('feedback-type')?.toLowerCase();
  if (feedbackType === undefined || feedbackType === '') return undefined;
  const returnPath = originalHeaders?.get('return-path') as { value?: { address?: string }[] } | undefined;
  const token = originalHeaders?.get('x-orderly-delivery');
  const references: ComplaintReferences = {};
  const originalMailFrom = bracketed(fields?.get('original-mail-from'));
  if (originalMailFrom !== undefined) references.originalMailFrom = originalMailFrom;
  if (returnPath?.value?.[0]?.address) references.returnPath = returnPath.value[0].address;
  if (typeof token === 'string' && token.trim() !== '') references.deliveryToken = token.trim();
  return { feedbackType, references };
}
