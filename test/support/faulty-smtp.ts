import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { preciseNow } from './clock.js';

export interface ReceivedMessage {
  to: string[];
  raw: string;
  eventId: string | undefined;
  /** The server's clock when the sender began this message (its `MAIL FROM`). */
  startedAt: number;
  /** The server's clock when it answered 250 to the message. */
  acceptedAt: number;
}

export interface FaultySmtp {
  port: number;
  received: ReceivedMessage[];
  /** Until this time every RCPT TO is answered 451 (try again later). */
  deferUntil: number;
  /** How long that 451 takes to come: a send in flight for a while, as over a slow link. */
  deferReplyMs: number;
  /** How long the 250 after DATA takes: a slow (greylisting, overloaded) server. */
  acceptDelayMs: number;
  /** Messages whose body contains this marker are refused with 554 (permanent). */
  rejectMarker: string | undefined;
  /** The messages refused for the marker, by the event they name: sends that were made and answered 554. */
  refused: { eventId: string | undefined }[];
  /** Closes the listener and every open connection, as a crashed server would; `up()` listens again on the same port. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

const smtpError = (code: number, message: string): Error => Object.assign(new Error(message), { responseCode: code });

/**
 * A sender killed mid-session (as the fault scenarios do) resets its connection; that is the client's business,
 * while an unhandled 'error' event would end this server's process.
 */
export function ignoreClientGone(error: Error & { code?: string }): void {
  if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') console.error('smtp server:', error.message);
}

/**
 * When each session's current message began: its `MAIL FROM`, the start of a send as the verdict reads it (a pooled
 * connection sends many messages, each with its own `MAIL FROM`).
 */
export function startStamps(): {
  onMailFrom: NonNullable<SMTPServerOptions['onMailFrom']>;
  of(session: SMTPServerSession): number;
} {
  const started = new Map<string, number>();
  return {
    onMailFrom(_address, session, callback) {
      started.set(session.id, preciseNow());
      callback();
    },
    of: (session) => started.get(session.id) ?? preciseNow(),
  };
}

/**
 * A local SMTP server that can answer 4xx for a while, 5xx for some messages, or be down: faults the real
 * sink cannot produce. Everything it accepts is kept in `received`, stamped with when its send
 * started and when it was accepted.
 */
export async function startFaultySmtp(port = 0): Promise<FaultySmtp> {
  const state = {
    received: [] as ReceivedMessage[],
    deferUntil: 0,
    deferReplyMs: 0,
    acceptDelayMs: 0,
    rejectMarker: undefined as string | undefined,
    refused: [] as { eventId: string | undefined }[],
  };

  const createServer = (): SMTPServer => {
    const sendStarted = startStamps();
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      size: 10 * 1024 * 1024,
      onMailFrom: sendStarted.onMailFrom,
      onRcptTo(_address, _session, callback) {
        if (Date.now() >= state.deferUntil) return callback();
        const defer = () => callback(smtpError(451, '4.3.0 Temporarily unable to accept mail, try again later'));
        if (state.deferReplyMs > 0) setTimeout(defer, state.deferReplyMs);
        else defer();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          // Quoted-printable soft line breaks can split the marker, wherever the message's other text puts it.
          const eventId = /^X-Orderly-Event-Id: (\d+)/im.exec(raw)?.[1];
          if (state.rejectMarker !== undefined && raw.replace(/=\r?\n/g, '').includes(state.rejectMarker)) {
            state.refused.push({ eventId });
            return callback(smtpError(554, '5.7.1 Message rejected by policy'));
          }
          const startedAt = sendStarted.of(session);
          // Taken once the 250 goes out, even if the client stopped waiting: a slow server may still deliver.
          const accept = () => {
            state.received.push({
              to: session.envelope.rcptTo.map((r) => r.address),
              raw,
              eventId,
              startedAt,
              acceptedAt: preciseNow(),
            });
            callback();
          };
          if (state.acceptDelayMs > 0) setTimeout(accept, state.acceptDelayMs);
          else accept();
        });
      },
    });
    server.on('error', ignoreClientGone);
    return server;
  };

  const listen = async (server: SMTPServer, onPort: number): Promise<number> => {
    await new Promise<void>((resolve) => server.listen(onPort, '127.0.0.1', resolve));
    return (server.server.address() as AddressInfo).port;
  };
  /** Ends the listener and destroys open connections at once (smtp-server would otherwise let them finish). */
  const shut = (server: SMTPServer): Promise<void> =>
    new Promise<void>((resolve) => {
      server.server.close(() => resolve());
      for (const connection of (server as unknown as { connections: Set<{ _socket?: { destroy(): void } }> })
        .connections)
        connection._socket?.destroy();
    });

  let server = createServer();
  const boundPort = await listen(server, port);
  let running = true;

  return Object.assign(state, {
    port: boundPort,
    async down() {
      if (!running) return;
      running = false;
      await shut(server);
    },
    async up() {
      if (running) return;
      server = createServer();
      await listen(server, boundPort);
      running = true;
    },
    async close() {
      if (running) await shut(server);
      running = false;
    },
  });
}
