/**
 * The benchmark's SMTP server: accepts every message and appends one NDJSON line per accepted message
 * (`{ eventId, to, startedAt, acceptedAt }`, by the sink's own clock: the message's `MAIL FROM` and its 250) to a file.
 * maildev stamps mail with the sender's Date header (1 s resolution), which cannot measure latency.
 *
 *   tsx bench/recording-sink.ts <port> <file>
 */
import { createWriteStream } from 'node:fs';
import { SMTPServer } from 'smtp-server';
import { preciseNow } from '../test/support/clock.js';
import { ignoreClientGone, startStamps } from '../test/support/faulty-smtp.js';

const [portArg, file] = process.argv.slice(2);
if (!portArg || !file) {
  console.error('usage: tsx bench/recording-sink.ts <port> <file>');
  process.exit(2);
}
const out = createWriteStream(file, { flags: 'a' });
const eventIdHeader = /^X-Orderly-Event-Id: *(\d+)/im;

const sendStarted = startStamps();
const server = new SMTPServer({
  onMailFrom: sendStarted.onMailFrom,
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  size: 10 * 1024 * 1024,
  onData(stream, session, callback) {
    let head = '';
    stream.on('data', (chunk: Buffer) => {
      // The Orderly headers come first; keep only enough of the message to find them.
      if (head.length < 8192) head += chunk.toString('utf8');
    });
    stream.on('end', () => {
      const copy = {
        eventId: eventIdHeader.exec(head)?.[1] ?? null,
        to: session.envelope.rcptTo.map((r) => r.address),
        startedAt: sendStarted.of(session),
        acceptedAt: preciseNow(),
      };
      out.write(`${JSON.stringify(copy)}\n`);
      callback();
    });
  },
});

server.on('error', ignoreClientGone);

server.listen(Number(portArg), '127.0.0.1', () =>
  console.log(`recording sink listening on 127.0.0.1:${portArg}, writing ${file}`),
);
process.once('SIGTERM', () => server.close(() => out.end(() => process.exit(0))));
