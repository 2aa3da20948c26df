import { type NativeConnection, Worker } from '@temporalio/worker';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { Pool } from 'mysql2/promise';
import { type UnsubscribeLinks, createEmailActivities } from '../activities/email.js';
import { readDigest } from '../activities/digests.js';
import { createDeliveryClaims } from '../activities/ledger.js';
import type { Config } from '../config.js';
import { taskQueues } from '../domain.js';
import type { SenderMetrics } from '../metrics.js';
import { type BounceAddresses, createBounceAddresses } from '../bounce-address.js';
import { createLinkSigner } from '../recipient-links.js';
import { dataConverterOf } from '../payload-codec.js';

/** One pooled SMTP transport per process: connections are reused across sends (no handshake per mail). */
export function createSmtpTransport(config: Config): Transporter<SMTPPool.SentMessageInfo> {
  return nodemailer.createTransport({
    host: config.SMTP_HOST,
    port: config.SMTP_PORT,
    secure: config.SMTP_SECURE,
    auth: config.SMTP_USER ? { user: config.SMTP_USER, pass: config.SMTP_PASSWORD ?? '' } : undefined,
    pool: true,
    maxConnections: config.SMTP_POOL_SIZE,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    // A server may take its time to answer DATA (RFC 5321 allows 10 minutes); the activities' timeouts are longer.
    socketTimeout: 60_000,
  });
}

/** Every mail's envelope sender, `bounce+<token>@BOUNCE_DOMAIN`, signed with LINK_SIGNING_KEYS. */
export function bounceAddresses(config: Config): BounceAddresses {
  return createBounceAddresses(config.LINK_SIGNING_KEYS, config.BOUNCE_DOMAIN);
}

/** The signer and base URL of every mail's unsubscribe links, from LINK_SIGNING_KEYS, LINK_TTL_DAYS and PUBLIC_BASE_URL. */
export function unsubscribeLinks(config: Config): UnsubscribeLinks {
  return {
    signer: createLinkSigner(config.LINK_SIGNING_KEYS, { ttlDays: config.LINK_TTL_DAYS }),
    publicBaseUrl: config.PUBLIC_BASE_URL,
  };
}

export interface EmailWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  transport: Transporter<SMTPPool.SentMessageInfo>;
  /** Where each send claims its delivery row first. */
  pool: Pool;
  config: Config;
  metrics?: SenderMetrics;
}

/** Runs the send activity on the email task queue, so SMTP capacity scales apart from the workflows. */
export function createEmailWorker({
  connection,
  namespace,
  transport,
  pool,
  config,
  metrics,
}: EmailWorkerDeps): Promise<Worker> {
  return Worker.create({
    dataConverter: dataConverterOf(config),
    connection,
    namespace,
    taskQueue: taskQueues.email,
    activities: createEmailActivities({
      transport,
      from: config.MAIL_FROM,
      metrics,
      unsubscribe: unsubscribeLinks(config),
      bounces: bounceAddresses(config),
      claims: createDeliveryClaims({ pool }),
      digests: { read: (digestId) => readDigest(pool, digestId) },
    }),
    maxConcurrentActivityTaskExecutions: config.EMAIL_MAX_CONCURRENT_ACTIVITIES,
  });
}
