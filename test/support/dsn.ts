/**
 * A delivery status notification as a receiving MTA sends it (RFC 3464): multipart/report with a human part, a
 * `message/delivery-status` part (per-message and per-recipient fields) and the original message's headers.
 */
export function deliveryStatusNotification({
  to,
  finalRecipient,
  status = '5.1.1',
  action = status.startsWith('5') ? 'failed' : 'delayed',
  diagnostic = status.startsWith('4') ? `smtp; 452 ${status} mailbox full` : `smtp; 550 ${status} user unknown`,
  originalHeaders = `From: Orderly <notifications@orderly.local>\r\nTo: ${finalRecipient}\r\nSubject: Your order\r\n`,
}: {
  /** The bounce address the report goes to (the original's envelope sender). */
  to: string;
  finalRecipient: string;
  status?: string;
  action?: string;
  diagnostic?: string;
  originalHeaders?: string;
}): string {
  const boundary = 'dsn-boundary-4f1c';
  return [
    'From: Mail Delivery System <MAILER-DAEMON@mx.example.test>',
    `To: ${to}`,
    'Subject: Undelivered Mail Returned to Sender',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    `Your message could not be delivered to ${finalRecipient}.`,
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.test',
    'Arrival-Date: Mon, 3 Mar 2025 10:00:00 +0000',
    '',
    `Final-Recipient: rfc822; ${finalRecipient}`,
    `Action: ${action}`,
    `Status: ${status}`,
    'Remote-MTA: dns; mailbox.example.test',
    `Diagnostic-Code: ${diagnostic}`,
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    originalHeaders,
    `--${boundary}--`,
    '',
  ].join('\r\n');
}
