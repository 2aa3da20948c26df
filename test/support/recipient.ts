import type { FastifyInstance } from 'fastify';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, expect } from 'vitest';
import { sample } from '../../scripts/sample-data.js';
import { buildApi } from '../../src/api/server.js';
import { loadConfig, webhookDestinationPolicy } from '../../src/config.js';
import type { OptOutSource } from '../../src/operations/recipient-opt-outs.js';
import { createLinkSigner } from '../../src/recipient-links.js';
import { createSecretBox } from '../../src/secrets.js';
import { destinationChecks } from '../../src/webhook-destination.js';
import { deliveriesOf } from './expectations.js';
import { freePort } from './free-port.js';
import { type SinkMail, mailTo, waitForMail } from './mail-sink.js';
import { usePipeline, useTemporalClient } from './pipeline.js';
import { until } from './until.js';

/**
 * The pipeline and Orderly's API in this process, on a free port, for tests of what a recipient does: the workers
 * put links under PUBLIC_BASE_URL into every mail, and that is this API.
 */
export async function usePipelineWithApi(): Promise<{
  context: { pool: Pool };
  apiPort: number;
  publicBaseUrl: string;
}> {
  const config = loadConfig();
  const apiPort = await freePort();
  const publicBaseUrl = `http://127.0.0.1:${apiPort}`;
  const context = usePipeline({ PUBLIC_BASE_URL: publicBaseUrl });
  const temporal = useTemporalClient();
  let api: FastifyInstance | undefined;
  beforeAll(async () => {
    api = await buildApi({
      pool: context.pool,
      client: temporal.client,
      destinations: destinationChecks(webhookDestinationPolicy(config)),
      secrets: createSecretBox(''),
      secretGraceS: 3600,
      publicBaseUrl,
      linkSigner: createLinkSigner(config.LINK_SIGNING_KEYS, { ttlDays: config.LINK_TTL_DAYS }),
    });
    await api.listen({ host: '127.0.0.1', port: apiPort });
  });
  afterAll(async () => {
    await api?.close();
  });
  return { context, apiPort, publicBaseUrl };
}

/** The mails of one event. */
export const ofEvent = (mails: SinkMail[], eventId: string) =>
  mails.filter((m) => m.headers['x-orderly-event-id'] === eventId);

/**
 * After a recipient turned off flow F1063's success mails by email (through `source`): that is the one opt-out
 * recorded, and of the next three events only that flow's success is held back, recorded `suppressed` with
 * "unsubscribed by the recipient on <the day>", while its failure and flow F2001's success are mailed.
 */
export async function expectOnlyFlowSuccessTurnedOff(
  pool: Pool,
  {
    userId,
    email,
    customerId,
    orderId,
    source,
  }: { userId: string; email: string; customerId: string; orderId: string; source: OptOutSource },
): Promise<void> {
  const [optOuts] = await pool.query<RowDataPacket[]>(
    'SELECT channel, flow_id, status, source, created_at FROM recipient_opt_outs WHERE user_id = ?',
    [userId],
  );
  expect(optOuts.map(({ created_at: _, ...scope }) => scope)).toEqual([
    { channel: 'email', flow_id: 'F1063', status: 'success', source },
  ]);
  const on = (optOuts[0]!.created_at as Date).toISOString().slice(0, 10);

  const suppressed = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'success' });
  const failure = await sample.event(pool, { orderId, customerId, flowId: 'F1063', status: 'failure' });
  const otherFlow = await sample.event(pool, { orderId, customerId, flowId: 'F2001', status: 'success' });
  const mails = await waitForMail((all) => mailTo(all, email), 3);
  expect(ofEvent(mails, failure), "that flow's failure mail still arrives").toHaveLength(1);
  expect(ofEvent(mails, otherFlow), "another flow's success mail still arrives").toHaveLength(1);
  expect(ofEvent(mails, suppressed), 'no mail of the success event turned off').toEqual([]);
  const [row] = await until('the suppressed delivery', async () => {
    const rows = await deliveriesOf(pool, [suppressed]);
    return rows.length > 0 ? rows : undefined;
  });
  expect([row!.state, row!.reason]).toEqual(['suppressed', `unsubscribed by the recipient on ${on}`]);
}
