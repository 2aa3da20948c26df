import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config.js';
import { temporalBinary } from '../../stack/paths.js';

/**
 * A workflow's history as an operator reads it with `temporal workflow show --output json`: raw, or decoded through
 * Orderly's codec server (`--codec-endpoint <api>/v1/codec --codec-auth "Bearer <key>"`).
 */
export async function historyAsShown(workflowId: string, codec?: { apiUrl: string; apiKey: string }): Promise<string> {
  const args = ['workflow', 'show', '--address', loadConfig().TEMPORAL_ADDRESS, '--workflow-id', workflowId];
  if (codec) args.push('--codec-endpoint', `${codec.apiUrl}/v1/codec`, '--codec-auth', `Bearer ${codec.apiKey}`);
  const { stdout } = await promisify(execFile)(temporalBinary, [...args, '--output', 'json'], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/**
 * A history JSON with every base64 string in it (payloads' data and metadata) decoded to text beside it, so that a
 * search finds whatever a payload holds in the clear.
 */
export function withPayloadsDecoded(historyJson: string): string {
  const decoded = [...historyJson.matchAll(/"([A-Za-z0-9+/]{4,}={0,2})"/g)].map((m) =>
    Buffer.from(m[1]!, 'base64').toString('latin1'),
  );
  return [historyJson, ...decoded].join('\n');
}
