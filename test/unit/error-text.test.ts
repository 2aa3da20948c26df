import { describe, expect, it } from 'vitest';
import { toFailure } from '../../src/activities/errors.js';
import { ProviderUnavailable } from '../../src/providers/types.js';
import { errorText, maxErrorTextChars } from '../../src/domain.js';

describe('error texts', () => {
  it('are cut where failures are made, saying how much was left out', () => {
    const reply = 'x'.repeat(3 * 1024 * 1024);
    const failure = toFailure(new ProviderUnavailable(reply, { provider: 'twilio', code: 'http-503' }));
    expect(failure.message.length).toBeLessThan(maxErrorTextChars + 100);
    expect(failure.message).toMatch(/\[\.\.\. \d+ more characters\]$/);
    expect(failure.type).toBe('ProviderUnavailable');
  });

  it('leave a short text as it is', () => {
    expect(errorText('the endpoint answered 503')).toBe('the endpoint answered 503');
  });

  it("turn a provider's Retry-After into the next retry's delay, bounded", () => {
    const error = new ProviderUnavailable('busy', { provider: 'twilio', code: 'http-429', retryAfterMs: 600_000 });
    expect(toFailure(error).nextRetryDelay).toBe(60_000);
  });
});
