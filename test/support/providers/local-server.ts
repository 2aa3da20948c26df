import {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
  createServer as createHttp,
} from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { preciseNow } from '../clock.js';

/** One HTTP answer: a status with a JSON (or text) body, optionally after a delay. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  json?: unknown;
  text?: string;
  delayMs?: number;
}

/** A failure to inject: an answer, or never answering at all (a frozen provider). */
export type Fault = Reply | 'hang';

/** A request as the server read it, before any provider-specific parsing. */
export interface RawRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** What every recorded request carries besides the provider-specific fields. */
export interface Exchange {
  /** The server's clock when the request began to arrive (its headers): the start of a send. */
  startedAt: number;
  /** The server's clock when the whole request had arrived. */
  at: number;
  /** The status answered, or `hung` while (or because) the server never answered. */
  answered: number | 'hung';
  /** The server's clock when it answered: for a 2xx, when the provider accepted the message. */
  answeredAt?: number;
  /** Which endpoint of the provider this was (`send`, `token`, ...). */
  route: string;
}

/** What a provider's handler decides for one request: what to record and what to answer when no fault is armed. */
export interface Handled<T> {
  route: string;
  record: T;
  reply: Reply;
}

/** The controls every local provider server shares. */
export interface LocalServer<T> {
  /** `http(s)://127.0.0.1:<port>` */
  origin: string;
  received: Array<T & Exchange>;
  /**
   * Answers the next `times` requests (all, when unset) to `route` (any route, when unset) with `fault` instead
   * of the provider's normal answer; `null` disarms every fault. The request is still read and recorded.
   */
  failWith(fault: Fault | null, options?: { times?: number; route?: string }): void;
  /** Stops listening: connections are refused, as when the provider is down, until {@link up}. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

interface ArmedFault {
  fault: Fault;
  remaining: number;
  route?: string;
}

/**
 * The plumbing of the local provider servers: binds 127.0.0.1 on an ephemeral port (HTTPS when given a
 * certificate), reads each request whole, lets the provider's handler parse, validate and record it, and answers
 * with an armed fault if any, else the handler's reply.
 */
export async function startLocalServer<T>(
  handle: (request: RawRequest, origin: string) => Handled<T> | Promise<Handled<T>>,
  { tls }: { tls?: { cert: string; key: string } } = {},
): Promise<LocalServer<T>> {
  const sockets = new Set<Socket>();
  let faults: ArmedFault[] = [];
  let port = 0;
  const onRequest = (request: IncomingMessage, response: ServerResponse) => {
    const startedAt = preciseNow();
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = {
        method: request.method ?? 'GET',
        url: request.url ?? '/',
        headers: request.headers,
        body: Buffer.concat(chunks),
      };
      void Promise.resolve()
        .then(() => handle(raw, local.origin))
        .then(
          ({ route, record, reply }) => {
            const entry: T & Exchange = { ...record, startedAt, at: preciseNow(), answered: 'hung', route };
            local.received.push(entry);
            const fault = takeFault(route);
            if (fault === 'hang') return;
            answer(response, fault ?? reply, (status) => {
              entry.answered = status;
              entry.answeredAt = preciseNow();
            });
          },
          (error: unknown) => answer(response, { status: 500, text: String(error) }, () => undefined),
        );
    });
  };
  const takeFault = (route: string): Fault | undefined => {
    const armed = faults.find((f) => f.route === undefined || f.route === route);
    if (!armed) return undefined;
    if (--armed.remaining <= 0) faults = faults.filter((f) => f !== armed);
    return armed.fault;
  };
  const server = tls ? createHttps(tls, onRequest) : createHttp(onRequest);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const listen = () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const stop = async () => {
    // Hung requests and keep-alive connections would hold close() open forever.
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  await listen();
  port = (server.address() as AddressInfo).port;
  const local: LocalServer<T> = {
    origin: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    received: [],
    failWith(fault, { times = Number.POSITIVE_INFINITY, route } = {}) {
      if (fault === null) faults = [];
      else faults.push({ fault, remaining: times, route });
    },
    down: stop,
    up: listen,
    close: async () => {
      if (server.listening) await stop();
    },
  };
  return local;
}

function answer(response: ServerResponse, reply: Reply, answered: (status: number) => void): void {
  setTimeout(() => {
    const body = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.text ?? '');
    const type = reply.json !== undefined ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8';
    answered(reply.status);
    response.writeHead(reply.status, { 'content-type': type, ...reply.headers }).end(body);
  }, reply.delayMs ?? 0);
}

/** Reads a `Basic` authorization header into its user and password. */
export function basicAuth(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Reads a form-encoded or JSON body into string fields (the two ways the SMS APIs accept parameters). */
export function formOrJson(request: RawRequest): Record<string, string> {
  const type = String(request.headers['content-type'] ?? '');
  const text = request.body.toString('utf8');
  if (type.startsWith('application/json')) {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(parsed).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    );
  }
  return Object.fromEntries(new URLSearchParams(text));
}
