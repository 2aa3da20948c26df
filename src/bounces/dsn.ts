import { fieldGroups } from './fields.js';

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

/**
 * The per-recipient blocks of a `message/delivery-status` body: field groups separated by blank lines, the first
 * being the per-message fields. A block without a valid `Status` (n.n.n) is left out.
 */
export function deliveryStatusFields(body: string): RecipientStatus[] {
  return fieldGroups(body)
    .slice(1)
    .flatMap((fields) => {
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
