import type { Pool } from 'mysql2/promise';
import type { BounceAddresses, BounceTarget } from '../bounce-address.js';
import { type ReportOutcome, inboundReportOperations } from '../operations/inbound-reports.js';
import { recipientOptOutOperations } from '../operations/recipient-opt-outs.js';
import { suppressionOperations } from '../operations/suppressions.js';
import { type ComplaintReferences, type Feedback, complaintTypes } from './arf.js';
import type { RecipientStatus } from './dsn.js';
import type { ParsedReport, ReportKind } from './report.js';

/** What a report did: one permanent or transient bounce, or a complaint. */
export type ReportEffect = 'permanent' | 'transient' | 'complaint';

export interface RecordedReport {
  reportId: number;
  kind: ReportKind | undefined;
  outcome: ReportOutcome;
  detail: string;
  effect?: ReportEffect;
  deliveryId?: number;
  userId?: string;
  /** The customer whose user the report was about, when the report named one. */
  customerId?: string;
  status?: string;
}

export interface ReceivedReport {
  mailFrom: string | undefined;
  /** The listener address it was sent to, and the delivery it names when it is a bounce address. */
  rcptTo: string;
  target: BounceTarget | undefined;
  raw: Buffer;
  parsed: ParsedReport;
}

type Outcome = Omit<RecordedReport, 'reportId' | 'kind'>;

/** What applying a report needs. */
interface Deps {
  reports: ReturnType<typeof inboundReportOperations>;
  suppressions: ReturnType<typeof suppressionOperations>;
  optOuts: ReturnType<typeof recipientOptOutOperations>;
  bounces: BounceAddresses;
  transientLimit: number;
}

/**
 * Applies received reports: a delivery status notification's permanent failure (5.x.x) marks the delivery
 * `bounced` and suppresses its address, a transient one (4.x.x) is counted and suppresses at `transientLimit`; a
 * complaint (RFC 5965 `abuse` or `fraud`) unsubscribes its user from all email. Every report is kept in
 * `inbound_reports`, raw, with its outcome, whatever it said.
 */
export function createBounceRecorder({
  pool,
  bounces,
  transientLimit,
}: {
  pool: Pool;
  bounces: BounceAddresses;
  transientLimit: number;
}) {
  const deps: Deps = {
    reports: inboundReportOperations({ pool }),
    suppressions: suppressionOperations({ pool }),
    optOuts: recipientOptOutOperations({ pool }),
    bounces,
    transientLimit,
  };

  return {
    async record(report: ReceivedReport): Promise<RecordedReport> {
      const { parsed } = report;
      const kind = parsed.ok ? parsed.kind : undefined;
      const outcome: Outcome = !parsed.ok
        ? { outcome: 'unparseable', detail: parsed.reason }
        : parsed.kind === 'delivery-status'
          ? await applyFailures(deps, report.target, parsed.recipients)
          : await applyComplaint(deps, report.target, parsed.feedback);
      const reportId = await deps.reports.keep({
        mailFrom: report.mailFrom,
        rcptTo: report.rcptTo,
        kind,
        raw: report.raw,
        ...outcome,
      });
      return { reportId, ...outcome, kind };
    },
  };
}

/** A delivery status notification: the worst failure it reports, applied to the delivery its address names. */
async function applyFailures(
  { reports, suppressions, transientLimit }: Deps,
  target: BounceTarget | undefined,
  recipients: RecipientStatus[],
): Promise<Outcome> {
  if (target === undefined) return { outcome: 'unmatched', detail: 'not sent to a bounce address' };
  // The worst news first: a permanent failure over a transient one; success notices change nothing.
  const failure = recipients.find((r) => r.status.startsWith('5')) ?? recipients.find((r) => r.status.startsWith('4'));
  if (failure === undefined) return { outcome: 'unmatched', detail: 'no failure reported (only 2.x.x)' };
  const delivery = await reports.emailDeliveryOf(target);
  if (delivery === undefined)
    return { outcome: 'unmatched', detail: 'no email delivery for its address', status: failure.status };
  // The address we sent to is the one to suppress, whatever the reporting server calls it; never the report's own
  // Final-Recipient: one valid bounce address would then suppress any address its sender names.
  if (delivery.recipient === null)
    return { outcome: 'unmatched', detail: 'its delivery names no address (erased)', status: failure.status };
  const address = delivery.recipient.toLowerCase();
  const permanent = failure.status.startsWith('5');
  const described = `${failure.status}${failure.diagnostic === undefined ? '' : ` (${failure.diagnostic})`}`;
  await reports.noteBounce(
    delivery.id,
    permanent,
    `bounced: ${described}`,
    permanent ? (failure.diagnostic ?? failure.status) : `transient bounce: ${described}`,
  );
  await suppressions.recordBounce(address, failure, transientLimit, delivery.customerId);
  return {
    outcome: 'applied',
    effect: permanent ? 'permanent' : 'transient',
    detail: permanent
      ? `permanent failure ${described}: delivery bounced, ${address} suppressed`
      : `transient failure ${described}: counted for ${address} (suppressed after ${transientLimit})`,
    deliveryId: delivery.id,
    userId: target.userId,
    customerId: delivery.customerId,
    status: failure.status,
  };
}

/** The delivery a complaint is about: the listener address it came to, or what the report says of the original. */
const complaintTarget = (bounces: BounceAddresses, target: BounceTarget | undefined, references: ComplaintReferences) =>
  target ??
  [references.originalMailFrom, references.returnPath].reduce<BounceTarget | undefined>(
    (found, address) => found ?? (address === undefined ? undefined : bounces.read(address)),
    undefined,
  ) ??
  (references.deliveryToken === undefined ? undefined : bounces.readToken(references.deliveryToken));

/** A feedback report: a complaint unsubscribes the user of the delivery it names from all email. */
async function applyComplaint(
  { reports, optOuts, bounces }: Deps,
  target: BounceTarget | undefined,
  feedback: Feedback,
): Promise<Outcome> {
  if (!complaintTypes.has(feedback.feedbackType))
    return { outcome: 'unmatched', detail: `feedback type ${feedback.feedbackType} is not a complaint` };
  const about = complaintTarget(bounces, target, feedback.references);
  if (about === undefined)
    return { outcome: 'unmatched', detail: 'names no delivery of ours (no verifiable bounce address or token)' };
  const customerId = await reports.customerOfUser(about.userId);
  if (customerId === undefined) return { outcome: 'unmatched', detail: `user ${about.userId} does not exist` };
  const delivery = await reports.emailDeliveryOf(about);
  // Every flow, success and failure: a recipient who calls a mail spam wants none of them.
  await optOuts.record({ userId: about.userId, channel: 'email', flowId: null, status: 'both' }, 'complaint');
  return {
    outcome: 'applied',
    effect: 'complaint',
    detail: `${feedback.feedbackType} complaint: user ${about.userId} unsubscribed from all email`,
    userId: about.userId,
    customerId,
    ...(delivery === undefined ? {} : { deliveryId: delivery.id }),
  };
}
