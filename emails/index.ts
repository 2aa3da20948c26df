import { render, toPlainText } from '@react-email/render';
import { createElement } from 'react';
import type { DigestItem, OrderEvent, TemplateId } from '../src/domain.js';
import { OrderCompletedEmail } from './order-completed.js';
import { type DigestLine, OrderDigestEmail } from './order-digest.js';
import { OrderEventFailedEmail } from './order-event-failed.js';
import { OrderEventSucceededEmail } from './order-event-succeeded.js';

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/** What every template is given: the event, the recipient's name and the link to their preference page. */
export interface TemplateInput {
  event: OrderEvent;
  username: string;
  preferencesUrl: string;
}

/** Header values must stay on one line whatever the upstream system wrote (no header injection). */
const oneLine = (value: string): string => value.replace(/[\r\n\t]+/g, ' ').trim();

const formatSeconds = (ms: number | null): string => (ms === null ? 'an unknown number of' : String(ms / 1000));

const templates: Record<
  TemplateId,
  (input: TemplateInput) => { subject: string; element: ReturnType<typeof createElement> }
> = {
  'order-event-succeeded': ({ event, username, preferencesUrl }) => ({
    subject: `Event ${event.eventId} processed successfully`,
    element: createElement(OrderEventSucceededEmail, {
      username,
      eventId: event.eventId,
      executionSeconds: formatSeconds(event.executionMs),
      flowId: event.flowId,
      source: event.source,
      year: new Date(event.occurredAt).getUTCFullYear(),
      preferencesUrl,
    }),
  }),
  'order-event-failed': ({ event, username, preferencesUrl }) => ({
    subject: `Event ${event.eventId} failed: ${event.errorCode ?? 'unknown error'}`,
    element: createElement(OrderEventFailedEmail, {
      username,
      eventId: event.eventId,
      flowId: event.flowId,
      source: event.source,
      errorCode: event.errorCode ?? 'UNKNOWN',
      errorDesc: event.errorDesc ?? 'No description was given.',
      year: new Date(event.occurredAt).getUTCFullYear(),
      preferencesUrl,
    }),
  }),
  'order-completed': ({ event, username, preferencesUrl }) => ({
    subject: `Order ${event.orderId} is complete`,
    element: createElement(OrderCompletedEmail, {
      username,
      orderId: event.orderId,
      flowId: event.flowId,
      lastStep: event.eventType,
      year: new Date(event.occurredAt).getUTCFullYear(),
      preferencesUrl,
    }),
  }),
};

/** Renders a template to subject, HTML and plain text. React escapes every field it interpolates. */
export async function renderEmail(templateId: TemplateId, input: TemplateInput): Promise<RenderedEmail> {
  const { subject, element } = templates[templateId](input);
  return rendered(subject, element);
}

/** A digest's mail: one line per event, in the order given. */
export async function renderDigest(input: {
  items: DigestItem[];
  username: string;
  preferencesUrl: string;
}): Promise<RenderedEmail> {
  const lines = input.items.map(digestLine);
  const subject = `${lines.length} ${lines.length === 1 ? 'update' : 'updates'} on your orders`;
  const year = new Date(input.items.at(-1)?.event.occurredAt ?? Date.now()).getUTCFullYear();
  return rendered(subject, createElement(OrderDigestEmail, { ...input, lines, year }));
}

/** A digest's line shows the start of an error's description; the event's own mail shows all of it. */
const digestErrorChars = 200;

function digestLine({ event, template }: DigestItem): DigestLine {
  const outcome =
    template === 'order-completed'
      ? 'completed the order'
      : event.status === 'success'
        ? 'succeeded'
        : `failed: ${event.errorCode ?? 'UNKNOWN'} ${(event.errorDesc ?? '').slice(0, digestErrorChars)}`.trim();
  const occurredAt = `${event.occurredAt.slice(0, 16).replace('T', ' ')} UTC`;
  return {
    eventId: event.eventId,
    orderId: event.orderId,
    flowId: event.flowId,
    eventType: event.eventType,
    outcome,
    occurredAt,
  };
}

async function rendered(subject: string, element: ReturnType<typeof createElement>): Promise<RenderedEmail> {
  // One React render; the text part is derived from its HTML (what render's plainText option does, rendering again).
  const html = await render(element);
  return { subject: oneLine(subject), html, text: toPlainText(html) };
}
