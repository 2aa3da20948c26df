import { setTimeout as sleep } from 'node:timers/promises';

/** One message as the SMTP sink (maildev) received it. */
export interface SinkMail {
  id: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  headers: Record<string, string>;
  to: { address: string }[];
  /** The SMTP envelope: `from` is the MAIL FROM (the bounce address), not the header From. */
  envelope?: { from?: { address: string } | string; to?: { address: string }[] | string };
}

const sinkApi = process.env.MAIL_SINK_API ?? 'http://127.0.0.1:1080';

/** Every message the sink holds, in the order it received them. */
export async function listMail(): Promise<SinkMail[]> {
  const response = await fetch(`${sinkApi}/email`);
  if (!response.ok) throw new Error(`mail sink answered ${response.status}`);
  return (await response.json()) as SinkMail[];
}

/** One message exactly as the sink received it (headers and body), e.g. to return it inside a complaint. */
export async function mailSource(id: string): Promise<string> {
  const response = await fetch(`${sinkApi}/email/${encodeURIComponent(id)}/source`);
  if (!response.ok) throw new Error(`mail sink answered ${response.status} for the source of ${id}`);
  return response.text();
}

export const mailTo = (mails: SinkMail[], address: string): SinkMail[] =>
  mails.filter((m) => m.to.some((t) => t.address === address));

/**
 * Polls the sink until `select` picks at least `count` messages, then waits `settleMs` more and returns
 * what it picks then, so a duplicate arriving just after the last expected message is still seen.
 */
export async function waitForMail(
  select: (mails: SinkMail[]) => SinkMail[],
  count: number,
  { timeoutMs = 90_000, settleMs = 1_500 } = {},
): Promise<SinkMail[]> {
  const deadline = Date.now() + timeoutMs;
  let picked = select(await listMail());
  while (picked.length < count && Date.now() < deadline) {
    await sleep(250);
    picked = select(await listMail());
  }
  await sleep(settleMs);
  return select(await listMail());
}
