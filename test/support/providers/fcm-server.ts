import { type KeyObject, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { jwtVerify } from 'jose';
import { type GoogleErrorBody, type ServiceAccount, fcmScope } from '../../../src/providers/fcm.js';
import { type Fault, type LocalServer, type RawRequest, type Reply, startLocalServer } from './local-server.js';

/** One request to the local FCM: a token exchange or a `messages:send`. */
export interface FcmRequest {
  /** `token`: the assertion verified and a token was issued. `send`: the bearer token was one issued here. */
  authorized: boolean;
  /** Why the token endpoint refused the assertion. */
  assertionError?: string;
  /** The `message` of a send, as posted. */
  message?: {
    token?: string;
    notification?: { title?: string; body?: string };
    data?: Record<string, unknown>;
    android?: { ttl?: string };
    webpush?: { headers?: Record<string, string> };
  };
  /** The message name it answered with. */
  name?: string;
}

/** FCM's documented error codes, by the HTTP status each comes with. */
const fcmErrors = {
  INVALID_ARGUMENT: { status: 400, rpc: 'INVALID_ARGUMENT' },
  UNREGISTERED: { status: 404, rpc: 'NOT_FOUND' },
  SENDER_ID_MISMATCH: { status: 403, rpc: 'PERMISSION_DENIED' },
  QUOTA_EXCEEDED: { status: 429, rpc: 'RESOURCE_EXHAUSTED' },
  UNAVAILABLE: { status: 503, rpc: 'UNAVAILABLE' },
  INTERNAL: { status: 500, rpc: 'INTERNAL' },
  THIRD_PARTY_AUTH_ERROR: { status: 401, rpc: 'UNAUTHENTICATED' },
} as const;

/** An FCM error by its `FcmError` code, or any HTTP answer, or none. */
export type FcmFault = { fcmError: keyof typeof fcmErrors; message?: string; retryAfterSeconds?: number } | Fault;

export interface FcmServer extends Omit<LocalServer<FcmRequest>, 'failWith'> {
  /** Pass as the provider's `baseUrl`. */
  url: string;
  projectId: string;
  /** A key file for this server: `token_uri` points at its token endpoint, `private_key` is the signing key. */
  serviceAccount: ServiceAccount;
  /** Arms a fault on `messages:send` (default) or on the token endpoint. */
  failWith(fault: FcmFault | null, options?: { times?: number; route?: 'send' | 'token' }): void;
  /** The app was uninstalled: sends to `token` answer 404 UNREGISTERED from now on. */
  unregister(token: string): void;
  /** Every access token issued so far stops working (401), as after a key rotation. */
  revokeAccessTokens(): void;
}

/** Google's error body (google.rpc.Status with an FcmError detail), as `fcm.googleapis.com` answers it. */
export function fcmError(code: keyof typeof fcmErrors, message: string = code): Reply {
  const { status, rpc } = fcmErrors[code];
  const json: GoogleErrorBody = {
    error: {
      code: status,
      message,
      status: rpc,
      details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: code }],
    },
  };
  return { status, json };
}

/**
 * A local FCM HTTP v1 API with its OAuth 2 token endpoint. `POST /token` takes the JWT-bearer grant and verifies
 * the assertion (RS256 by the service account's key, `iss` its email, `aud` the token endpoint, the messaging
 * scope, at most one hour) before issuing a bearer token; `POST /v1/projects/{project}/messages:send` requires
 * such a token and a valid message (one `token`, string-only `data` without reserved keys), answering
 * `{ name: "projects/…/messages/…" }` or Google's error JSON.
 */
export async function startFcmServer({ projectId = 'orderly-test' }: { projectId?: string } = {}): Promise<FcmServer> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const issued = new Set<string>();
  const unregistered = new Set<string>();
  const clientEmail = `orderly-sender@${projectId}.iam.gserviceaccount.com`;
  const state = { clientEmail, projectId, publicKey, issued, unregistered };
  const local = await startLocalServer<FcmRequest>((request, origin) =>
    new URL(request.url, origin).pathname === '/token'
      ? handleToken(request, origin, state)
      : handleSend(request, state),
  );
  return {
    ...local,
    url: local.origin,
    projectId,
    serviceAccount: {
      type: 'service_account',
      project_id: projectId,
      private_key_id: randomBytes(20).toString('hex'),
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: clientEmail,
      token_uri: `${local.origin}/token`,
    },
    failWith(fault, { times, route = 'send' } = {}) {
      if (fault !== null && typeof fault === 'object' && 'fcmError' in fault) {
        const reply = fcmError(fault.fcmError, fault.message);
        if (fault.retryAfterSeconds !== undefined) reply.headers = { 'retry-after': String(fault.retryAfterSeconds) };
        local.failWith(reply, { times, route });
      } else local.failWith(fault, { times, route });
    },
    unregister: (token) => unregistered.add(token),
    revokeAccessTokens: () => issued.clear(),
  };
}

interface State {
  clientEmail: string;
  projectId: string;
  publicKey: KeyObject;
  issued: Set<string>;
  unregistered: Set<string>;
}

async function handleToken(request: RawRequest, origin: string, state: State) {
  const form = new URLSearchParams(request.body.toString('utf8'));
  const record: FcmRequest = { authorized: false };
  const refuse = (error: string, description: string) => {
    record.assertionError = `${error}: ${description}`;
    return { route: 'token', record, reply: { status: 400, json: { error, error_description: description } } };
  };
  if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
    return refuse('unsupported_grant_type', 'Invalid grant_type');
  try {
    const { payload } = await jwtVerify(form.get('assertion') ?? '', state.publicKey, {
      algorithms: ['RS256'],
      issuer: state.clientEmail,
      audience: `${origin}/token`,
      maxTokenAge: '1h',
    });
    if (typeof payload.exp !== 'number' || typeof payload.iat !== 'number' || payload.exp - payload.iat > 3600)
      return refuse('invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes)');
    if (typeof payload.scope !== 'string' || !payload.scope.split(' ').includes(fcmScope))
      return refuse('invalid_scope', 'Missing the firebase.messaging scope');
  } catch (error) {
    return refuse('invalid_grant', `Invalid JWT Signature. (${String(error)})`);
  }
  const token = `ya29.local-${randomBytes(24).toString('base64url')}`;
  state.issued.add(token);
  record.authorized = true;
  return {
    route: 'token',
    record,
    reply: { status: 200, json: { access_token: token, expires_in: 3599, token_type: 'Bearer' } },
  };
}

/** FCM refuses these `data` keys: they would collide with its own fields. */
const reservedDataKey = /^(from|gcm|message_type|google\..*|gcm\..*|collapse_key|notification)$/;

function handleSend(request: RawRequest, state: State) {
  const bearer = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
  const record: FcmRequest = { authorized: bearer !== undefined && state.issued.has(bearer) };
  const done = (reply: Reply) => ({ route: 'send', record, reply });
  const path = new URL(request.url, 'http://local').pathname;
  if (request.method !== 'POST' || !/^\/v1\/projects\/[^/]+\/messages:send$/.test(path))
    return done({ status: 404, text: 'Not Found' });
  if (!record.authorized)
    return done({
      status: 401,
      json: {
        error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' },
      },
    });
  if (path !== `/v1/projects/${state.projectId}/messages:send`)
    return done({
      status: 403,
      json: { error: { code: 403, message: 'Permission denied on the project.', status: 'PERMISSION_DENIED' } },
    });
  try {
    record.message = (JSON.parse(request.body.toString('utf8')) as { message?: FcmRequest['message'] }).message;
  } catch {
    return done(badRequest('message', 'Invalid JSON payload received.'));
  }
  const message = record.message;
  if (!message?.token) return done(badRequest('message.token', 'Exactly one of token, topic or condition is required'));
  for (const [index, [key, value]] of Object.entries(message.data ?? {}).entries()) {
    if (typeof value !== 'string')
      return done(
        badRequest(`message.data[${index}].value`, `Invalid value at 'message.data[${index}].value' (TYPE_STRING)`),
      );
    if (reservedDataKey.test(key)) return done(badRequest(`message.data[${index}].key`, `Invalid data key: ${key}`));
  }
  if (state.unregistered.has(message.token)) return done(fcmError('UNREGISTERED', 'Requested entity was not found.'));
  record.name = `projects/${state.projectId}/messages/0:${Date.now()}%${randomUUID().slice(0, 8)}`;
  return done({ status: 200, json: { name: record.name } });
}

function badRequest(field: string, description: string): Reply {
  const json: GoogleErrorBody = {
    error: {
      code: 400,
      message: description,
      status: 'INVALID_ARGUMENT',
      details: [
        { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field, description }] },
        { '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'INVALID_ARGUMENT' },
      ],
    },
  };
  return { status: 400, json };
}
