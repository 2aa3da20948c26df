import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface ReceivedMessage {
  to: string[];
  raw: string;
  eventId: string | undefined;
}

export interface FaultySmtp {
  port: number;
  received: ReceivedMessage[];
  /** Until this time every RCPT TO is answered 451 (try again later). */
  deferUntil: number;
  /** Messages whose body contains this marker are refused with 554 (permanent). */
  rejectMarker: string | undefined;
  close(): Promise<void>;
}

const smtpError = (code: number, message: string): Error => Object.assign(new Error(message), { responseCode: code });

/**
 * A local SMTP server that can answer 4xx for a while or 5xx for some messages: faults the real sink
 * cannot produce. Everything it accepts is kept in `received`.
 */
export async function startFaultySmtp(): Promise<FaultySmtp> {
  const state: Omit<FaultySmtp, 'port' | 'close'> = { received: [], deferUntil: 0, rejectMarker: undefined };
  const options: SMTPServerOptions = {
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (Date.now() < state.deferUntil) return callback(smtpError(451, '4.3.0 Temporarily unable to accept mail, try again later'));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        if (state.rejectMarker !== undefined && raw.includes(state.rejectMarker)) {
          return callback(smtpError(554, '5.7.1 Message rejected by policy'));
        }
        state.received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw, eventId: /^X-Orderly-Event-Id: (\d+)/im.exec(raw)?.[1] });
        callback();
      });
    },
  };
  const server = new SMTPServer(options);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return Object.assign(state, {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
