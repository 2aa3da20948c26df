/**
 * The SMS text and the push notification of each template, in the emails' wording (`emails/index.ts`) but plain
 * and short: an SMS is billed per segment and a push is read on a lock screen. Pure, so workflows could use it too.
 */
import type { OrderEvent, TemplateId } from '../domain.js';

/** What every text template is given: the event and the recipient's name (as the emails are). */
export interface TextTemplateInput {
  event: OrderEvent;
  username: string;
}

/** A push notification as the device shows it, and the data an app reads (string values only, as FCM requires). */
export interface PushContent {
  title: string;
  body: string;
  data: Record<string, string>;
}

/** Upstream text on one line: an SMS or a notification title has no room for the error's line breaks. */
const oneLine = (value: string): string => value.replace(/\s+/g, ' ').trim();

const seconds = (ms: number | null): string => (ms === null ? 'an unknown time' : `${ms / 1000} s`);

const texts: Record<TemplateId, (input: TextTemplateInput) => { title: string; body: string }> = {
  'order-event-succeeded': ({ event }) => ({
    title: `Event ${event.eventId} processed successfully`,
    body: `Order ${event.orderId}: step ${event.eventType} of flow ${event.flowId} succeeded (from ${event.source}, in ${seconds(event.executionMs)}).`,
  }),
  'order-event-failed': ({ event }) => ({
    title: `Event ${event.eventId} failed: ${event.errorCode ?? 'unknown error'}`,
    body: `Order ${event.orderId}: step ${event.eventType} of flow ${event.flowId} failed (from ${event.source}): ${event.errorDesc ?? 'no description was given'}.`,
  }),
  'order-completed': ({ event }) => ({
    title: `Order ${event.orderId} is complete`,
    body: `Every step of flow ${event.flowId} has succeeded, the last one ${event.eventType}.`,
  }),
};

/**
 * The SMS of a template: greeting, title and body on one line each. Not yet cut to the segment cap: the sender
 * does that (`fitToSegments`), since only it knows the cap.
 */
export function renderSmsText(template: TemplateId, input: TextTemplateInput): string {
  const { title, body } = texts[template](input);
  return `Hi ${oneLine(input.username)}, ${oneLine(title)}. ${oneLine(body)} - Orderly`;
}

/** The push notification of a template: the email's subject as title, a short body, the event and order ids as data. */
export function renderPush(template: TemplateId, input: TextTemplateInput): PushContent {
  const { title, body } = texts[template](input);
  return {
    title: oneLine(title),
    // Lock screens show two or three lines; push services take 4 KiB at most for the whole encrypted payload.
    body: oneLine(body).slice(0, 500),
    data: {
      eventId: input.event.eventId,
      orderId: input.event.orderId,
      notificationId: input.event.notificationId ?? input.event.eventId,
      status: input.event.status,
      template,
    },
  };
}
