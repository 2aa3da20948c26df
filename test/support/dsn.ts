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

/**
 * An abuse report as a mailbox provider's feedback loop sends it (RFC 5965 ARF): multipart/report of type
 * feedback-report with a human part, a `message/feedback-report` part and the original message as it arrived,
 * its `Return-Path` (the original's envelope sender) added by the receiving server. Feedback loops mail it to the
 * fixed address they were registered with, not to the bounce address.
 */
export function abuseReport({
  to,
  original,
  returnPath,
  feedbackType = 'abuse',
  originalMailFrom = returnPath,
}: {
  /** Where the feedback loop sends it (the complaint address). */
  to: string;
  /** The original message, headers and body, as the recipient's server received it (without Return-Path). */
  original: string;
  /** The original's envelope sender, which the receiving server wrote into Return-Path; omitted when undefined. */
  returnPath?: string;
  feedbackType?: string;
  originalMailFrom?: string;
}): string {
  const boundary = 'arf-boundary-7d2e';
  return [
    'From: Feedback Loop <fbl@mailbox.example.test>',
    `To: ${to}`,
    'Subject: FW: complaint about a message from your network',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=feedback-report; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'This is an email abuse report for a message received from your network.',
    '',
    `--${boundary}`,
    'Content-Type: message/feedback-report',
    '',
    `Feedback-Type: ${feedbackType}`,
    'User-Agent: ExampleFBL/1.0',
    'Version: 1',
    ...(originalMailFrom === undefined ? [] : [`Original-Mail-From: <${originalMailFrom}>`]),
    'Arrival-Date: Mon, 3 Mar 2025 10:00:00 +0000',
    'Reported-Domain: orderly.local',
    '',
    `--${boundary}`,
    'Content-Type: message/rfc822',
    'Content-Disposition: inline',
    '',
    ...(returnPath === undefined ? [] : [`Return-Path: <${returnPath}>`]),
    original.replace(/\r?\n/g, '\r\n').replace(/(\r\n)*$/, ''),
    '',
    `--${boundary}--`,
    '',
  ].join('\r\n');
}
