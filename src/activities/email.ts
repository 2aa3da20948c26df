import { type ApplicationFailure, Context } from '@temporalio/activity';
import type { Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import { z } from 'zod';
import { type RenderedEmail, renderDigest, renderEmail } from '../../emails/index.js';
import {
  type DigestContent,
  type OrderEvent,
  type TemplateId,
  digestNotificationId,
  notificationKey,
  permanentErrors,
} from '../domain.js';
import type { BounceAddresses } from '../bounce-address.js';
import type { SenderMetrics } from '../metrics.js';
import { type LinkScope, type LinkSigner, preferencesUrl, unsubscribeTargets } from '../recipient-links.js';
import type { DeliveryKey, createDeliveryClaims } from './ledger.js';
import {
  type ActivityError,
  InvalidRecipient,
  SmtpConnectionFailure,
  SmtpPermanentFailure,
  SmtpTransientFailure,
  toFailure,
} from './errors.js';

export interface SendEmailInput {
  template: TemplateId;
  event: OrderEvent;
  userId: string;
  username: string;
  to: string | null;
  /** Attempts already made elsewhere (the local first attempt), so the ledger counts every attempt. */
  previousAttempts?: number;
}

/** One digest's mail (issue 24). */
export interface SendDigestEmailInput {
  digestId: string;
  userId: string;
  username: string;
  to: string | null;
  /** The flow the digest collects (null: every flow): its one-click unsubscribe turns that off. */
  flowId: string | null;
  previousAttempts?: number;
}

export interface SentEmail {
  providerMessageId: string;
  attempts: number;
}

const emailAddress = z.email();

/**
 * What every mail's recipient links (one-click unsubscribe, preference page) need: the signer of their tokens and
 * where the API is reached (PUBLIC_BASE_URL).
 */
export interface UnsubscribeLinks {
  signer: LinkSigner;
  publicBaseUrl: string;
}

interface EmailDeps {
  /** Reads a digest's events; without it, this worker sends no digest. */
  digests?: { read: (digestId: string) => Promise<DigestContent> };
  transport: Transporter<SMTPPool.SentMessageInfo>;
  claims: ReturnType<typeof createDeliveryClaims>;
  from: string;
  metrics?: SenderMetrics;
  unsubscribe: UnsubscribeLinks;
  /** Makes each mail's envelope sender a bounce address naming its delivery (VERP); the header From stays `from`. */
  bounces: BounceAddresses;
  messageIdDomain?: string;
}

/**
 * Renders and sends one notification email over a pooled SMTP transport.
 * SMTP 5xx and invalid addresses are permanent (non-retryable); 4xx and connection errors are retried by Temporal.
 * Every mail carries a one-click unsubscribe (RFC 8058) from what it is about: its flow and status, on email; and a
 * footer link to the recipient's preference page. Each send runs under its delivery's claim (`pending -> sending`):
 * email has no idempotency key, so an attempt that finds another one sending waits for it rather than sending too.
 */
export function createEmailActivities({
  transport,
  from,
  metrics,
  unsubscribe,
  bounces,
  claims,
  digests,
  messageIdDomain = 'orderly.local',
}: EmailDeps) {
  const sendClaimed = claimedSender({ transport, from, metrics, bounces, claims, messageIdDomain });

  return {
    async sendEmail(input: SendEmailInput): Promise<SentEmail> {
      const notificationId = notificationKey(input.event);
      return sendClaimed({
        delivery: { notificationId, userId: input.userId, channel: 'email', to: input.to, ...previous(input) },
        content: () =>
          compose(
            unsubscribe,
            { userId: input.userId, flowId: input.event.flowId, status: input.event.status },
            (url) => renderEmail(input.template, { event: input.event, username: input.username, preferencesUrl: url }),
          ),
        messageId: `event-${notificationId}`,
        headers: { 'X-Orderly-Event-Id': input.event.eventId, 'X-Orderly-Order-Id': input.event.orderId },
        ids: idsOf(input),
        occurredAt: input.event.occurredAt,
      });
    },

    /** A digest's mail (issue 24): its events, read from `digest_items`, in one mail under the digest's own delivery. */
    async sendDigestEmail(input: SendDigestEmailInput): Promise<SentEmail> {
      if (digests === undefined) throw new Error('this email worker was started without a digest reader');
      const notificationId = digestNotificationId(input.digestId);
      const content = async () => {
        const { items } = await digests.read(input.digestId);
        return compose(unsubscribe, { userId: input.userId, flowId: input.flowId, status: 'both' }, (url) =>
          renderDigest({ items, username: input.username, preferencesUrl: url }),
        );
      };
      return sendClaimed({
        delivery: { notificationId, userId: input.userId, channel: 'email', to: input.to, ...previous(input) },
        content,
        messageId: notificationId,
        headers: { 'X-Orderly-Digest-Id': input.digestId },
        ids: { digestId: input.digestId, userId: input.userId },
      });
    },
  };
}

/**
 * Sends one mail under its delivery's claim; an earlier attempt's mail is answered with, not sent again. `to` is
 * checked first: a bad address fails for good.
 */
function claimedSender({
  transport,
  from,
  metrics,
  bounces,
  claims,
  messageIdDomain,
}: Pick<EmailDeps, 'transport' | 'from' | 'metrics' | 'bounces' | 'claims'> & { messageIdDomain: string }) {
  return async function sendClaimed(mail: {
    delivery: DeliveryKey & { to: string | null; previousAttempts?: number };
    content: () => Promise<{ rendered: RenderedEmail; url: string; mail: string }>;
    messageId: string;
    headers: Record<string, string>;
    /** What log lines name. */
    ids: Record<string, string>;
    occurredAt?: string;
  }): Promise<SentEmail> {
    const { delivery } = mail;
    const attempts = (delivery.previousAttempts ?? 0) + Context.current().info.attempt;
    const to = delivery.to;
    if (to === null || !emailAddress.safeParse(to).success) {
      metrics?.attempts.inc({ channel: 'email', result: permanentErrors.invalidRecipient });
      throw toFailure(new InvalidRecipient(delivery.userId, to), [{ attempts }]);
    }
    const { rendered, url, mail: mailto } = await mail.content();
    const claim = await claimToSend(claims, delivery, attempts);
    if ('providerMessageId' in claim) return claim;
    try {
      const info = await claims.whileClaimed(delivery, claim.attemptId, () =>
        transport.sendMail({
          from,
          to,
          envelope: { from: bounces.addressFor(delivery.notificationId, delivery.userId), to },
          subject: rendered.subject,
          html: rendered.html,
          text: rendered.text,
          // Stable per delivery, so a receiver can tell a retry from a new notification.
          messageId: `<${mail.messageId.replace(/[^A-Za-z0-9.-]/g, '-')}.user-${delivery.userId}@${messageIdDomain}>`,
          // List-Unsubscribe: <https://…/v1/unsubscribe/one-click?token=…>, <mailto:…> (one header, both targets).
          list: { unsubscribe: [[url, mailto]] },
          headers: {
            ...mail.headers,
            // The bounce address's signed token again: feedback loops that strip the envelope sender from the
            // original they return still carry it, so a complaint names its delivery (src/bounces/arf.ts).
            'X-Orderly-Delivery': bounces.tokenFor(delivery.notificationId, delivery.userId),
            // RFC 8058: a POST of this body to the https target unsubscribes, with no further step.
            'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          },
        }),
      );
      metrics?.attempts.inc({ channel: 'email', result: 'sent' });
      Context.current().log.debug('email sent', { ...mail.ids, attempt: attempts, providerMessageId: info.messageId });
      if (mail.occurredAt !== undefined)
        metrics?.latency.observe({ channel: 'email' }, (Date.now() - Date.parse(mail.occurredAt)) / 1000);
      return { providerMessageId: info.messageId, attempts };
    } catch (error) {
      const failure = classifySmtpError(error, attempts);
      metrics?.attempts.inc({ channel: 'email', result: failure.type ?? 'error' });
      Context.current().log.warn('email not sent', { ...mail.ids, attempt: attempts, reason: failure.message });
      throw failure;
    }
  };
}

const previous = (input: { previousAttempts?: number }) =>
  input.previousAttempts === undefined ? {} : { previousAttempts: input.previousAttempts };

/**
 * The mail's content and its unsubscribe targets: its one-click unsubscribe signed for what it is about (a flow and
 * status, on email), its footer's preference link for its recipient; `render` makes it, given that link.
 */
async function compose(
  unsubscribe: UnsubscribeLinks,
  about: { userId: string; flowId: string | null; status: LinkScope['status'] },
  render: (preferencesUrl: string) => Promise<RenderedEmail>,
) {
  const [token, preferencesToken] = await Promise.all([
    unsubscribe.signer.sign({ ...about, channel: 'email' }),
    unsubscribe.signer.signPreferences(about.userId),
  ]);
  const rendered = await render(preferencesUrl(unsubscribe.publicBaseUrl, preferencesToken));
  return { rendered, ...unsubscribeTargets(unsubscribe.publicBaseUrl, token) };
}

/** Claims the delivery for this attempt, or answers with the mail an earlier attempt sent. */
async function claimToSend(
  claims: ReturnType<typeof createDeliveryClaims>,
  delivery: DeliveryKey,
  attempts: number,
): Promise<{ attemptId: string } | SentEmail> {
  const claim = await claims.claim(delivery);
  if (claim.kind === 'sent')
    return { providerMessageId: claim.providerMessageId ?? 'sent by an earlier attempt', attempts };
  return claim;
}

/**
 * Maps a nodemailer failure to what Temporal should do with it. The attempt number travels in the details
 * so a dead letter can say how many attempts were made.
 */
export function classifySmtpError(error: unknown, attempts: number): ApplicationFailure {
  return toFailure(smtpErrorOf(error), [{ attempts }]);
}

/** 5xx replies are permanent, 4xx replies and connection errors may pass. */
function smtpErrorOf(error: unknown): ActivityError {
  const smtp = error as { responseCode?: number; response?: string; message?: string; code?: string };
  const reply = smtp.response ?? smtp.message ?? String(error);
  const cause = error instanceof Error ? error : undefined;
  if (typeof smtp.responseCode === 'number' && smtp.responseCode >= 500) return new SmtpPermanentFailure(reply, cause);
  if (typeof smtp.responseCode === 'number' && smtp.responseCode >= 400) return new SmtpTransientFailure(reply, cause);
  return new SmtpConnectionFailure(reply, smtp.code, cause);
}

/** The ids every log line about a send carries. */
const idsOf = (input: SendEmailInput) => ({
  eventId: input.event.eventId,
  notificationId: notificationKey(input.event),
  orderId: input.event.orderId,
  customerId: input.event.customerId,
  userId: input.userId,
});
