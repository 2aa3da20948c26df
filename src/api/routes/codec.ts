import type { Payload, PayloadCodec } from '@temporalio/common';
import type { FastifyPluginCallback } from 'fastify';
import { BadRequest } from '../../operations/errors.js';
import { adminOnly } from '../auth.js';
import { responses } from '../schemas.js';

const tags = ['codec'];

/** Temporal's remote codec protocol: payloads with base64 metadata values and data. */
interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}
interface CodecBody {
  payloads: JsonPayload[];
}

const body = {
  type: 'object',
  required: ['payloads'],
  properties: {
    payloads: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        properties: {
          metadata: { type: 'object', additionalProperties: { type: 'string' } },
          data: { type: 'string' },
        },
      },
    },
  },
} as const;

const fromJson = ({ metadata = {}, data = '' }: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(data, 'base64'),
});

const toJson = ({ metadata, data }: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(data ?? new Uint8Array()).toString('base64'),
});

/**
 * `/v1/codec/{encode,decode}`: the codec server the `temporal` CLI (`--codec-endpoint .../v1/codec --codec-auth
 * "Bearer <key>"`) and the Web UI call to show what Orderly's payloads hold (see docs/security.md). Operators only:
 * decoding shows recipients' addresses and events' texts.
 */
export const codecRoutes: FastifyPluginCallback<{ codec: PayloadCodec }> = (app, { codec }, done) => {
  for (const direction of ['encode', 'decode'] as const)
    app.post<{ Body: CodecBody }>(
      `/v1/codec/${direction}`,
      {
        schema: {
          tags,
          summary: `${direction === 'decode' ? 'Decrypts' : 'Encrypts'} Temporal payloads (operators only)`,
          body,
          response: responses(200, `The payloads, ${direction}d`, [400, 403]),
        },
      },
      async (request) => {
        adminOnly(request, `the codec's ${direction}`);
        const payloads = await codec[direction](request.body.payloads.map(fromJson)).catch((error: unknown) => {
          // Not ours to decode (a key this process lacks, bytes changed): the caller's payload, not a server fault.
          throw new BadRequest(
            `cannot ${direction} these payloads: ${error instanceof Error ? error.message : String(error)}`,
          );
        });
        return { payloads: payloads.map(toJson) };
      },
    );
  done();
};
