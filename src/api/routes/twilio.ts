import formbody from '@fastify/formbody';
import type { FastifyPluginAsync } from 'fastify';
import { type deliveryReceiptOperations, twilioReceipt } from '../../operations/delivery-receipts.js';
import { BadRequest, Forbidden, NotFound } from '../../operations/errors.js';
import { parseTwilioStatusCallback, verifyTwilioSignature } from '../../providers/twilio.js';
import { errorBody } from '../schemas.js';

/** Where Twilio posts delivery receipts; public (Twilio has no API key), its requests signed instead. */
export const twilioStatusPath = '/v1/providers/twilio/status';

const callbackBody = {
  type: 'object',
  description: "Twilio's status callback (form-encoded); every parameter is signed, so all are kept",
  properties: {
    MessageSid: { type: 'string' },
    MessageStatus: { type: 'string' },
    ErrorCode: { type: 'string' },
  },
  additionalProperties: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
} as const;

const error = (description: string) => ({ description, ...errorBody });

/**
 * `POST /v1/providers/twilio/status`: Twilio's status callbacks move an SMS delivery from `sent` to `delivered` or
 * `undelivered`. Each must carry a valid `X-Twilio-Signature` for `publicUrl` (403 otherwise, changing nothing).
 * A receipt for a message Orderly does not know is answered 200 and logged, since Twilio would only send it again.
 * Without an auth token (SMS via Twilio not configured) the route answers 404.
 */
export const twilioStatusRoutes: FastifyPluginAsync<{
  receipts: ReturnType<typeof deliveryReceiptOperations>;
  authToken: string | undefined;
  /** PUBLIC_BASE_URL: Twilio signs the URL it called, as configured, not the one this process sees. */
  publicBaseUrl: string;
}> = async (app, { receipts, authToken, publicBaseUrl }) => {
  // Form bodies for this route only: the rest of the API takes JSON.
  await app.register(formbody);
  const publicUrl = publicBaseUrl.replace(/\/+$/, '') + twilioStatusPath;

  app.post<{ Body: Record<string, string | string[]> }>(
    twilioStatusPath,
    {
      schema: {
        tags: ['providers'],
        summary: "Twilio's delivery receipts (status callbacks), signed with X-Twilio-Signature; no API key",
        consumes: ['application/x-www-form-urlencoded'],
        security: [],
        body: callbackBody,
        response: {
          200: { description: 'Received (a receipt of an unknown message too: there is nothing to do)' },
          400: error('Not a status callback (no MessageSid or MessageStatus)'),
          403: error('The X-Twilio-Signature is missing or wrong'),
          404: error('SMS via Twilio is not configured (TWILIO_AUTH_TOKEN unset)'),
          429: error('Too many requests a minute from this address'),
        },
      },
    },
    async (request) => {
      if (authToken === undefined) throw new NotFound('SMS via Twilio is not configured here (no TWILIO_AUTH_TOKEN)');
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      const signature = request.headers['x-twilio-signature'];
      if (!verifyTwilioSignature(publicUrl + query, request.body, [signature].flat()[0], authToken)) {
        request.log.warn({ url: publicUrl + query }, 'Twilio status callback refused: bad or missing signature');
        throw new Forbidden(`the X-Twilio-Signature does not sign this request for ${publicUrl + query}`);
      }
      const receipt = twilioReceipt(parseCallback(request.body));
      if (receipt === undefined) return {};
      const result = await receipts.record(receipt);
      if (result === 'unknown')
        request.log.warn({ messageSid: receipt.messageId }, 'Twilio receipt for a message Orderly has no delivery of');
      else request.log.info({ messageSid: receipt.messageId, result }, 'Twilio receipt recorded');
      return {};
    },
  );
};

function parseCallback(body: Record<string, string | string[]>) {
  const first = Object.fromEntries(Object.entries(body).map(([key, value]) => [key, [value].flat()[0] ?? '']));
  try {
    return parseTwilioStatusCallback(first);
  } catch (error) {
    throw new BadRequest(error instanceof Error ? error.message : String(error));
  }
}
