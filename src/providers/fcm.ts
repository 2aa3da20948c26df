import { SignJWT, importPKCS8 } from 'jose';
import { z } from 'zod';
import type { PushMessage, PushProvider, PushRegistration, SentMessage } from './types.js';
import {
  ProviderRejected,
  ProviderUnavailable,
  RecipientRejected,
  parseRetryAfter,
  registrationOf,
  parseJson,
  unreachable,
  withSlash,
} from './types.js';

type FcmRegistration = Extract<PushRegistration, { kind: 'fcm' }>;

/** The fields of a Google service-account key file (JSON) that the OAuth 2 JWT-bearer flow needs. */
export const serviceAccountSchema = z.object({
  type: z.literal('service_account'),
  project_id: z.string().min(1),
  client_email: z.string().min(1),
  private_key: z.string().includes('PRIVATE KEY'),
  private_key_id: z.string().optional(),
  /** Where access tokens come from; Google's real keys say `https://oauth2.googleapis.com/token`. */
  token_uri: z.url(),
});
/** A parsed service-account key. */
export type ServiceAccount = z.infer<typeof serviceAccountSchema>;

/** The only scope `messages:send` needs. */
export const fcmScope = 'https://www.googleapis.com/auth/firebase.messaging';

/** Google's error body (google.rpc.Status) on every FCM v1 failure. */
export interface GoogleErrorBody {
  error: {
    code: number;
    message: string;
    status: string;
    details?: Array<{
      '@type': string;
      errorCode?: string;
      fieldViolations?: Array<{ field: string; description: string }>;
    }>;
  };
}

/**
 * Firebase Cloud Messaging HTTP v1 (`POST {baseUrl}/v1/projects/{project}/messages:send`) with an OAuth 2 access
 * token from a service-account key. The token exchange is written here with `jose` rather than taken from
 * `google-auth-library`, because that library posts to a hard-coded `https://oauth2.googleapis.com/token` and
 * ignores the key's `token_uri`; honouring it is what lets tests and staging use a local token endpoint.
 */
export function createFcmProvider({
  serviceAccount,
  baseUrl = 'https://fcm.googleapis.com',
  timeoutMs = 10_000,
  name = 'fcm',
}: {
  /** The key file's JSON, as read from the secret store. */
  serviceAccount: unknown;
  baseUrl?: string;
  timeoutMs?: number;
  name?: string;
}): PushProvider & { kind: 'fcm' } {
  const parsed = serviceAccountSchema.safeParse(serviceAccount);
  if (!parsed.success) throw new Error(`${name}: not a service-account key: ${z.prettifyError(parsed.error)}`);
  const account = parsed.data;
  const endpoint = new URL(`v1/projects/${encodeURIComponent(account.project_id)}/messages:send`, withSlash(baseUrl));
  const tokens = accessTokens(account, { timeoutMs, provider: name });

  const post = async (body: string): Promise<Response> => {
    const token = await tokens.get();
    try {
      return await fetch(endpoint, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw unreachable(name, error);
    }
  };

  return {
    name,
    kind: 'fcm',
    async send(message: PushMessage): Promise<SentMessage> {
      const body = JSON.stringify({ message: fcmMessage(registrationOf(name, 'fcm', message)) });
      let response = await post(body);
      if (response.status === 401) {
        // Our cached token was revoked or expired early: one fresh token, then the answer stands.
        tokens.forget();
        response = await post(body);
      }
      const text = await response.text().catch((error: unknown) => {
        throw unreachable(name, error);
      });
      const json = parseJson(text);
      if (response.ok) {
        const messageId = (json as { name?: unknown } | undefined)?.name;
        if (typeof messageId !== 'string')
          throw new ProviderUnavailable('accepted without a message name', {
            provider: name,
            code: 'no-name',
            status: response.status,
          });
        return { messageId };
      }
      throw fcmError(name, response, json as Partial<GoogleErrorBody> | undefined);
    },
  };
}

/** One FCM v1 `Message`: a notification for display plus the data map, with the TTL in each platform's dialect. */
function fcmMessage(push: PushMessage<FcmRegistration>) {
  const ttl = push.ttlSeconds;
  return {
    token: push.registration.token,
    notification: { title: push.title, body: push.body },
    data: push.data,
    ...(ttl === undefined
      ? {}
      : {
          android: { ttl: `${ttl}s` },
          webpush: { headers: { TTL: String(ttl) } },
          apns: { headers: { 'apns-expiration': String(Math.floor(Date.now() / 1000) + ttl) } },
        }),
  };
}

/**
 * FCM error → error tree, by the `FcmError` detail's `errorCode` (https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode),
 * falling back to the google.rpc status and then the HTTP status.
 */
function fcmError(provider: string, response: Response, body: Partial<GoogleErrorBody> | undefined) {
  const status = response.status;
  const details = body?.error?.details ?? [];
  const fcmCode = details.find((d) => d['@type']?.endsWith('google.firebase.fcm.v1.FcmError'))?.errorCode;
  const code = fcmCode ?? body?.error?.status ?? String(status);
  const message = `${status} ${code}: ${body?.error?.message ?? response.statusText}`;
  const options = { provider, code, status };
  switch (code) {
    case 'UNREGISTERED': // the app was uninstalled or the token expired
    case 'SENDER_ID_MISMATCH': // the token belongs to another Firebase project: never ours to reach
      return new RecipientRejected(message, { ...options, registrationGone: true });
    case 'INVALID_ARGUMENT': {
      // Firebase's token-management guide: an invalid token (with a valid payload) is safe to delete.
      const aboutToken =
        details.some((d) => d.fieldViolations?.some((v) => v.field === 'message.token')) ||
        /registration token/i.test(body?.error?.message ?? '');
      return aboutToken
        ? new RecipientRejected(message, { ...options, registrationGone: true })
        : new ProviderRejected(message, options);
    }
    case 'QUOTA_EXCEEDED':
    case 'UNAVAILABLE':
    case 'INTERNAL':
      return new ProviderUnavailable(message, {
        ...options,
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
      });
  }
  if (status === 429 || status >= 500)
    return new ProviderUnavailable(message, {
      ...options,
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
    });
  // THIRD_PARTY_AUTH_ERROR, PERMISSION_DENIED, UNAUTHENTICATED after a fresh token: our configuration.
  return new ProviderRejected(message, options);
}

/**
 * OAuth 2 access tokens by the JWT-bearer grant (RFC 7523, Google's "service account" flow): an RS256 assertion
 * signed with the key, posted to its `token_uri`. Cached until a minute before expiry; concurrent sends share
 * one request.
 */
function accessTokens(account: ServiceAccount, { timeoutMs, provider }: { timeoutMs: number; provider: string }) {
  let cached: { token: string; refreshAt: number } | undefined;
  let inFlight: Promise<string> | undefined;
  const key = importPKCS8(account.private_key, 'RS256');
  // Fail fast on an unreadable key, but leave the rejection to the first send so it is never unhandled here.
  key.catch(() => undefined);

  const fetchToken = async (): Promise<string> => {
    const assertion = await new SignJWT({ scope: fcmScope })
      .setProtectedHeader({
        alg: 'RS256',
        typ: 'JWT',
        ...(account.private_key_id ? { kid: account.private_key_id } : {}),
      })
      .setIssuer(account.client_email)
      .setAudience(account.token_uri)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(await key);
    let response: Response;
    let json:
      { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } | undefined;
    try {
      response = await fetch(account.token_uri, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      json = parseJson(await response.text()) as typeof json;
    } catch (error) {
      throw unreachable(provider, error);
    }
    const token = json?.access_token;
    if (response.ok && typeof token === 'string') {
      const lifetimeS = typeof json?.expires_in === 'number' ? json.expires_in : 3600;
      cached = { token, refreshAt: Date.now() + Math.max(0, lifetimeS - 60) * 1000 };
      return token;
    }
    const code = typeof json?.error === 'string' ? json.error : String(response.status);
    const description = typeof json?.error_description === 'string' ? json.error_description : '';
    const message = `token endpoint ${response.status} ${code}: ${description}`.trim();
    if (response.status === 429 || response.status >= 500)
      throw new ProviderUnavailable(message, {
        provider,
        code,
        status: response.status,
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
      });
    // invalid_grant, invalid_client, ...: the key is wrong, revoked or disabled.
    throw new ProviderRejected(message, { provider, code, status: response.status });
  };

  return {
    async get(): Promise<string> {
      if (cached && Date.now() < cached.refreshAt) return cached.token;
      inFlight ??= fetchToken().finally(() => (inFlight = undefined));
      return inFlight;
    },
    forget() {
      cached = undefined;
    },
  };
}
