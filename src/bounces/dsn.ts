import { simpleParser } from 'mailparser';

/** One recipient's failure as a delivery status notification reports it (RFC 3464 per-recipient fields). */
export interface RecipientStatus {
  /** `Final-Recipient`'s address, without its `rfc822;` type. */
  finalRecipient: string | undefined;
  action: string | undefined;
  /** `Status`: class.subject.detail, e.g. `5.1.1`. */
  status: string;
  /** `Diagnostic-Code`, e.g. `smtp; 550 5.1.1 user unknown`. */
  diagnostic: string | undefined;
}

/** What a received report says, or why it could not be read. */
export type ParsedReport = { ok: true; recipients: RecipientStatus[] } | { ok: false; reason: string };

/**
 * Reads a delivery status notification: a `multipart/report; report-type=delivery-status` whose
 * `message/delivery-status` part has at least one per-recipient block with a valid `Status`. Never throws:
 * anything else is `{ ok: false, reason }` for the caller to keep and log.
 */
export async function parseDeliveryStatusNotification(raw: Buffer): Promise<ParsedReport> {
  let mail;
  try {
    // keepDeliveryStatus: the delivery-status part as an attachment of its own, not folded into the text.
    mail = await simpleParser(raw, { keepDeliveryStatus: true, skipHtmlToText: true, skipTextToHtml: true });
  } catch (error) {
    return { ok: false, reason: `not a MIME message: ${error instanceof Error ? error.message : String(error)}` };
  }
  const contentType = mail.headers.get('content-type') as
    { value?: string; params?: Record<string, string> } | undefined;
  if (
    contentType?.value !== 'multipart/report' ||
    contentType.params?.['report-type']?.toLowerCase() !== 'delivery-status'
  )
    return {
      ok: false,
      reason: `not a delivery status notification (Content-Type ${contentType?.value ?? 'missing'})`,
    };
  const part = mail.attachments.find((a) => a.contentType.toLowerCase() === 'message/delivery-status');
  if (part === undefined) return { ok: false, reason: 'no message/delivery-status part' };
  const recipients = deliveryStatusFields(part.content.toString('utf8'));
  if (recipients.length === 0) return { ok: false, reason: 'no per-recipient block with a valid Status' };
  return { ok: true, recipients };
}

/**
 * The per-recipient blocks of a `message/delivery-status` body: header-like field groups separated by blank lines,
 * the first being the per-message fields. A block without a valid `Status` (n.n.n) is left out.
 */
export function deliveryStatusFields(body: string): RecipientStatus[] {
  const blocks = body
    .replace(/\r\n/g, '\n')
    // Folded lines continue the field above.
    .replace(/\n[ \t]+/g, ' ')
    .split(/\n\s*\n/)
    .map((block) => fieldsOf(block));
  return blocks.slice(1).flatMap((fields) => {
    const status = /^([245])\.\d{1,3}\.\d{1,3}/.exec(fields.get('status') ?? '')?.[0];
    if (status === undefined) return [];
    return [
      {
        finalRecipient: fields.get('final-recipient')?.replace(/^[^;]*;\s*/, '') || undefined,
        action: fields.get('action')?.toLowerCase(),
        status,
        diagnostic: fields.get('diagnostic-code'),
      },
    ];
  });
}

function fieldsOf(block: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of block.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return fields;
}
