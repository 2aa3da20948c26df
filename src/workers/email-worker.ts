import net from 'node:net';
import { type NativeConnection, Worker } from '@temporalio/worker';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import { createEmailActivities } from '../activities/email.js';
import type { Config } from '../config.js';
import { taskQueues } from '../domain.js';

const connectTimeoutMs = 10_000;

/**
 * Opens each pooled connection with TCP_NODELAY. Without it the last small write of every message (the
 * end of DATA) waits for the server's delayed ACK: about 40 ms per message, 20 mails/s per connection.
 * nodemailer still does the SMTP handshake and, with SMTP_SECURE, the TLS upgrade on this socket.
 */
function connectWithoutDelay(options: SMTPPool.Options, callback: (error: Error | null, socketOptions?: { connection: net.Socket }) => void): void {
  const socket = net.connect({ host: options.host ?? '127.0.0.1', port: options.port ?? 25, noDelay: true });
  socket.setTimeout(connectTimeoutMs, () => socket.destroy(new Error(`connection to ${options.host}:${options.port} timed out`)));
  const onError = (error: Error): void => callback(error);
  socket.once('error', onError);
  socket.once('connect', () => {
    socket.setTimeout(0);
    socket.off('error', onError);
    callback(null, { connection: socket });
  });
}

/** One pooled SMTP transport per process: connections are reused across sends (no handshake per mail). */
export function createSmtpTransport(config: Config): Transporter<SMTPPool.SentMessageInfo> {
  return nodemailer.createTransport({
    host: config.SMTP_HOST,
    port: config.SMTP_PORT,
    secure: config.SMTP_SECURE,
    auth: config.SMTP_USER ? { user: config.SMTP_USER, pass: config.SMTP_PASSWORD ?? '' } : undefined,
    pool: true,
    maxConnections: config.SMTP_POOL_SIZE,
    getSocket: connectWithoutDelay,
    connectionTimeout: connectTimeoutMs,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
}

export interface EmailWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  transport: Transporter<SMTPPool.SentMessageInfo>;
  config: Config;
}

/** Runs the send activity on the email task queue, so SMTP capacity scales apart from the workflows. */
export function createEmailWorker({ connection, namespace, transport, config }: EmailWorkerDeps): Promise<Worker> {
  return Worker.create({
    connection,
    namespace,
    taskQueue: taskQueues.email,
    activities: createEmailActivities({ transport, from: config.MAIL_FROM }),
    maxConcurrentActivityTaskExecutions: config.EMAIL_MAX_CONCURRENT_ACTIVITIES,
  });
}
