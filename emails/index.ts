import { render, toPlainText } from '@react-email/render';
import { createElement } from 'react';
import type { OrderEvent, TemplateId } from '../src/domain.js';
import { OrderCompletedEmail } from './order-completed.js';
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
  // One React render; the text part is derived from its HTML (what render's plainText option does, rendering again).
  const html = await render(element);
  return { subject: oneLine(subject), html, text: toPlainText(html) };
}
