import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { type SMTPServerAddress, type SMTPServerSession, SMTPServer } from 'smtp-server';
import type { BounceAddresses } from '../bounce-address.js';
import type { ReportMetrics } from '../metrics.js';
import type { RecordedReport, createBounceRecorder } from './record.js';
import { parseReport } from './report.js';

/** Larger reports are refused (552): a report carries at most the original's headers or a copy of a small mail. */
const maxReportBytes = 10 * 1024 * 1024;

/**
 * An SMTP server taking delivery status notifications and feedback reports (complaints) for bounce addresses
 * (`bounce+<token>@<domain>`) and the complaint address that feedback loops are registered with: any other
 * recipient, or a token that does not verify, is refused at RCPT. Each accepted report is parsed and recorded
 * (`inbound_reports`, raw, whatever it says) and counted in `metrics`; a report that cannot be recorded (the
 * database is away) is answered 451, so the sending server tries again rather than the report being lost.
 */
export function createBounceListener({
  bounces,
  complaintAddress,
  recorder,
  metrics,
  log,
}: {
  bounces: BounceAddresses;
  complaintAddress: string;
  recorder: ReturnType<typeof createBounceRecorder>;
  metrics?: ReportMetrics;
  log: Logger;
}): SMTPServer {
  const accepts = (address: string) =>
    address.trim().toLowerCase() === complaintAddress.toLowerCase() || bounces.read(address) !== undefined;

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    size: maxReportBytes,
    logger: false,
    banner: 'Orderly bounce listener',
    onRcptTo(address: SMTPServerAddress, _session: SMTPServerSession, callback: (error?: Error) => void) {
      if (accepts(address.address)) return callback();
      log.info(
        { rcptTo: address.address },
        'bounce listener refused a recipient that is neither a bounce nor the complaint address',
      );
      callback(withResponseCode(new Error(`5.1.1 <${address.address}>: not a bounce or complaint address here`), 550));
    },
    onData(stream: Readable, session: SMTPServerSession, callback: (error?: Error | null) => void) {
      receive(stream, session).then(
        (tooLarge) =>
          callback(tooLarge ? withResponseCode(new Error('5.3.4 report larger than this listener takes'), 552) : null),
        (error: unknown) => {
          log.error({ err: error }, 'bounce report not recorded; asking the sender to retry');
          callback(withResponseCode(new Error('4.3.0 report not recorded, try again later'), 451));
        },
      );
    },
  });

  /** Records the report for each of its recipients; true when it was too large to take. */
  async function receive(stream: Readable, session: SMTPServerSession): Promise<boolean> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    if ((stream as Readable & { sizeExceeded?: boolean }).sizeExceeded) return true;
    const raw = Buffer.concat(chunks);
    const parsed = await parseReport(raw);
    const mailFrom = session.envelope.mailFrom === false ? undefined : session.envelope.mailFrom.address;
    for (const rcpt of session.envelope.rcptTo) {
      const target = bounces.read(rcpt.address);
      const recorded = await recorder.record({ mailFrom, rcptTo: rcpt.address, target, raw, parsed });
      count(recorded);
      const fields = { ...recorded, rcptTo: rcpt.address, bytes: raw.length };
      // Unparseable and unmatched reports are kept (inbound_reports) and said so loudly, never dropped.
      if (recorded.outcome === 'unparseable') log.warn(fields, 'bounce report unparseable; kept');
      else if (recorded.outcome === 'unmatched') log.warn(fields, 'bounce report matches nothing; kept');
      else log.info(fields, 'bounce report received');
    }
    return false;
  }

  function count({ kind, outcome, effect, customerId = 'unknown' }: RecordedReport): void {
    metrics?.reports.inc({ kind: kind ?? 'unknown', outcome });
    if (effect === 'complaint') metrics?.complaints.inc({ customer_id: customerId });
    else if (effect !== undefined) metrics?.bounces.inc({ customer_id: customerId, kind: effect });
  }

  // A client that resets its connection must not take the listener down.
  server.on('error', (error) => log.warn({ err: error }, 'bounce listener connection error'));
  return server;
}

function withResponseCode(error: Error, responseCode: number): Error {
  return Object.assign(error, { responseCode });
}
