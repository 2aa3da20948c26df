import { type IncomingHttpHeaders, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { preciseNow } from './clock.js';

export interface ReceivedWebhook {
  messageId: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The receiver's clock when the request began to arrive (its headers): the start of a send. */
  startedAt: number;
  /** The receiver's clock when the whole request had arrived. */
  at: number;
  /** What the receiver answered; `hung` for a request it never answered. */
  answered: number | 'hung';
  /** The receiver's clock when it answered: for a 2xx, when the endpoint accepted the delivery. */
  answeredAt?: number;
}

/** How the receiver answers one request: a status (with headers, after a delay), or never. */
export type Reply = { status: number; headers?: Record<string, string>; delayMs?: number } | 'hang';

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Decides each answer; the default accepts everything with 204. */
  reply: (request: ReceivedWebhook) => Reply;
  /** Requests answered 2xx, i.e. deliveries the endpoint accepted. */
  accepted(): ReceivedWebhook[];
  close(): Promise<void>;
}

/**
 * A local HTTP endpoint for webhook tests and benchmarks (on `host`: 127.0.0.1, which Orderly's test processes
 * allow, or another loopback address, which they refuse): answers as told (2xx, 4xx, 5xx with Retry-After,
 * or not at all, as a frozen customer endpoint would) and records every request with its arrival time.
 */
export async function startWebhookReceiver(host = '127.0.0.1'): Promise<WebhookReceiver> {
  const hanging = new Set<ServerResponse>();
  const receiver: WebhookReceiver = {
    url: '',
    received: [],
    reply: () => ({ status: 204 }),
    accepted: () =>
      receiver.received.filter((r) => typeof r.answered === 'number' && r.answered >= 200 && r.answered < 300),
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((request, response) => {
    const startedAt = preciseNow();
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry: ReceivedWebhook = {
        messageId: String(request.headers['webhook-id'] ?? ''),
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        startedAt,
        at: preciseNow(),
        answered: 'hung',
      };
      receiver.received.push(entry);
      const reply = receiver.reply(entry);
      if (reply === 'hang') {
        hanging.add(response);
        response.on('close', () => hanging.delete(response));
        return;
      }
      setTimeout(() => {
        entry.answered = reply.status;
        entry.answeredAt = preciseNow();
        response.writeHead(reply.status, reply.headers).end();
      }, reply.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  receiver.url = `http://${host}:${(server.address() as AddressInfo).port}/hooks/orderly`;
  return receiver;
}
