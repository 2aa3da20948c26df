import { type ParsedMail, simpleParser } from 'mailparser';
import { type Feedback, feedbackOf } from './arf.js';
import { type RecipientStatus, deliveryStatusFields } from './dsn.js';

/**
 * What a received report says, or why it could not be read: a delivery status notification (RFC 3464) with its
 * recipients' statuses, or a feedback report (RFC 5965 ARF) with its type and what names the original mail.
 */
export type ParsedReport =
  | { ok: true; kind: 'delivery-status'; recipients: RecipientStatus[] }
  | { ok: true; kind: 'feedback-report'; feedback: Feedback }
  | { ok: false; reason: string };

/** The kinds of report the listener reads, as `multipart/report`'s `report-type` names them. */
export type ReportKind = 'delivery-status' | 'feedback-report';

/**
 * The report parts as attachments of their own, not folded into the text: `message/delivery-status`
 * (keepDeliveryStatus) and the returned original, `message/rfc822`, which ARF marks `inline` (ignoreEmbedded).
 */
const parseOptions = {
  keepDeliveryStatus: true,
  ignoreEmbedded: true,
  skipHtmlToText: true,
  skipTextToHtml: true,
} as const;

/**
 * Reads a `multipart/report` of type `delivery-status` (its `message/delivery-status` part must have a
 * per-recipient block with a valid `Status`) or `feedback-report` (its `message/feedback-report` part must have a
 * `Feedback-Type`). Never throws: anything else is `{ ok: false, reason }` for the caller to keep and log.
 */
export async function parseReport(raw: Buffer): Promise<ParsedReport> {
  let mail: ParsedMail;
  try {
    mail = await simpleParser(raw, parseOptions);
  } catch (error) {
    return { ok: false, reason: `not a MIME message: ${error instanceof Error ? error.message : String(error)}` };
  }
  const contentType = mail.headers.get('content-type') as
    { value?: string; params?: Record<string, string> } | undefined;
  const reportType = contentType?.params?.['report-type']?.toLowerCase();
  if (contentType?.value === 'multipart/report' && reportType === 'delivery-status') return deliveryStatus(mail);
  if (contentType?.value === 'multipart/report' && reportType === 'feedback-report') return feedbackReport(mail);
  return {
    ok: false,
    reason: `not a delivery status notification or feedback report (Content-Type ${contentType?.value ?? 'missing'}${reportType === undefined ? '' : `; report-type=${reportType}`})`,
  };
}

const partOf = (mail: ParsedMail, type: string) => mail.attachments.find((a) => a.contentType.toLowerCase() === type);

function deliveryStatus(mail: ParsedMail): ParsedReport {
  const part = partOf(mail, 'message/delivery-status');
  if (part === undefined) return { ok: false, reason: 'no message/delivery-status part' };
  const recipients = deliveryStatusFields(part.content.toString('utf8'));
  if (recipients.length === 0) return { ok: false, reason: 'no per-recipient block with a valid Status' };
  return { ok: true, kind: 'delivery-status', recipients };
}

async function feedbackReport(mail: ParsedMail): Promise<ParsedReport> {
  const part = partOf(mail, 'message/feedback-report');
  if (part === undefined) return { ok: false, reason: 'no message/feedback-report part' };
  const original = partOf(mail, 'message/rfc822') ?? partOf(mail, 'text/rfc822-headers');
  // The original is a message of its own (or its headers alone): mailparser reads its headers as it read the report's.
  const originalHeaders =
    original === undefined
      ? undefined
      : await simpleParser(original.content, parseOptions).then(
          (m) => m.headers,
          () => undefined,
        );
  const feedback = feedbackOf(part.content.toString('utf8'), originalHeaders);
  if (feedback === undefined) return { ok: false, reason: 'no Feedback-Type in the message/feedback-report part' };
  return { ok: true, kind: 'feedback-report', feedback };
}
