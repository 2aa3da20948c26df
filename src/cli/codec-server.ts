import { type Server, createServer } from 'node:http';

export interface CodecServerOptions {
  /** Where it listens: loopback only, on the operator's machine. */
  port: number;
  /** Orderly's API, whose `/v1/codec/{encode,decode}` decode for operator keys only. */
  apiUrl: string;
  /** An operator API key: the Web UI's calls carry none, this server adds it. */
  apiKey: string;
  /** The Web UI origins whose pages may call it (CORS); a browser page of any other origin is refused. */
  uiOrigins: string[];
}

/**
 * The codec server the Temporal Web UI calls (`temporal server start-dev --ui-codec-endpoint`), run by an operator on
 * their own machine with their operator key (`orderly codec-server`): the Web UI sends no credentials, so this server,
 * on loopback, forwards its encode and decode requests to Orderly's API with the key. The payload keys never leave the
 * API; pages of other origins get no CORS grant (their browser refuses to send) and a 403 if they call anyway.
 */
export function startCodecServer({ port, apiUrl, apiKey, uiOrigins }: CodecServerOptions): Promise<Server> {
  const server = createServer((request, response) => {
    const origin = request.headers.origin;
    if (origin !== undefined && !uiOrigins.includes(origin)) {
      response.writeHead(403, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: `origin ${origin} may not use this codec server` }));
      return;
    }
    if (origin !== undefined) response.setHeader('access-control-allow-origin', origin).setHeader('vary', 'origin');
    const direction = /\/(encode|decode)(\?|$)/.exec(request.url ?? '')?.[1];
    if (request.method === 'OPTIONS') {
      response.writeHead(204, {
        'access-control-allow-methods': 'POST',
        'access-control-allow-headers': 'content-type, x-namespace',
        'access-control-max-age': '600',
      });
      response.end();
      return;
    }
    if (request.method !== 'POST' || direction === undefined) {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: 'POST /encode or /decode' }));
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      fetch(`${apiUrl}/v1/codec/${direction}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: Buffer.concat(chunks),
      })
        .then(async (answer) => {
          response.writeHead(answer.status, { 'content-type': 'application/json' });
          response.end(await answer.text());
        })
        .catch((error: unknown) => {
          response.writeHead(502, { 'content-type': 'application/json' });
          const reason = error instanceof Error ? error.message : String(error);
          response.end(JSON.stringify({ error: `Orderly's API at ${apiUrl} did not answer: ${reason}` }));
        });
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
