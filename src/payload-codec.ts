import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { type ListedKey, parseKeyList } from './secrets.js';

// A CommonJS module: its namespace is its default export under Node's ESM.
const { temporal } = proto;

/** The `encoding` of a payload this codec encrypted; anything else passes through as it is. */
const encryptedEncoding = 'binary/encrypted';
/** Names the key that encrypted the payload, so keys rotate and old histories still decode. */
const keyIdKey = 'encryption-key-id';

/**
 * Used only outside production when no key is configured: histories are not in the clear, but not secret either.
 * Exported for the test of a rotation away from it.
 */
export const developmentKey: ListedKey = {
  id: 'development',
  key: createHash('sha256').update('orderly development payload key').digest(),
};

const utf8 = (text: string) => new TextEncoder().encode(text);

/**
 * Temporal payloads encrypted with AES-256-GCM before they leave the process (as in temporalio/samples-typescript
 * `encryption`): workflow inputs and results, activity inputs and results, local activities' markers, signals. The
 * whole payload (its metadata and data) is encrypted; the key id is the only metadata in the clear. Search attributes
 * are not payloads of this kind and stay readable: they hold ids only.
 */
export class EncryptionCodec implements PayloadCodec {
  private readonly current: ListedKey;
  private readonly byId: Map<string, Buffer>;

  constructor(keys: ListedKey[]) {
    this.current = keys[0]!;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- the interface is async; encryption here is not
  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      return {
        metadata: { encoding: utf8(encryptedEncoding), [keyIdKey]: utf8(this.current.id) },
        data: Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]),
      };
    });
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- a payload that does not decode rejects, not throws
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const metadata = payload.metadata ?? {};
      if (new TextDecoder().decode(metadata.encoding) !== encryptedEncoding) return payload;
      const keyId = new TextDecoder().decode(metadata[keyIdKey]);
      const key = this.byId.get(keyId);
      if (key === undefined)
        throw new Error(`a payload is encrypted with key "${keyId}", which PAYLOAD_ENCRYPTION_KEYS does not hold`);
      const data = Buffer.from(payload.data ?? new Uint8Array());
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
      decipher.setAuthTag(data.subarray(data.length - 16));
      const plain = Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/** The codec of `PAYLOAD_ENCRYPTION_KEYS` (`<key id>:<base64 of 32 bytes>`, comma-separated; empty: development). */
export function payloadCodecOf(spec: string): EncryptionCodec {
  return new EncryptionCodec(parseKeyList('PAYLOAD_ENCRYPTION_KEYS', spec, developmentKey));
}

/** src/failure-converter.ts (`.ts` under tsx, `.js` once compiled). */
const failureConverterPath = fileURLToPath(
  new URL(`./failure-converter${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

/**
 * What every Temporal client and worker of Orderly converts payloads with. Failures' messages and stack traces are
 * encrypted too (`encodeCommonAttributes`): an SMTP server's refusal quotes the address it refused.
 */
export function dataConverterOf(config: { PAYLOAD_ENCRYPTION_KEYS: string }): DataConverter {
  return {
    payloadCodecs: [payloadCodecOf(config.PAYLOAD_ENCRYPTION_KEYS)],
    failureConverterPath,
  };
}
