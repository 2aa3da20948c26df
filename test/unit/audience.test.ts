import { describe, expect, it } from 'vitest';
import {
  type OptOut,
  type Subscription,
  decideAudience as decideWithDefaults,
} from '../../src/activities/preferences.js';
import type { EndpointPolicy } from '../../src/domain.js';

const noEndpoint = {
  endpoint_id: null,
  endpoint_enabled: null,
  endpoint_disabled_reason: null,
  retry_schedule_s: null,
  max_age_s: null,
  rate_limit_per_s: null,
  max_in_flight: null,
  circuit_failure_threshold: null,
  circuit_cooldown_s: null,
  digest_window_s: null,
  digest_max_items: null,
};
const subscription = (userId: string, fields: Partial<Subscription> = {}): Subscription => ({
  user_id: userId,
  username: `user${userId}`,
  email: `u${userId}@example.test`,
  flow_id: null,
  on_success: 1,
  on_failure: 1,
  channel: 'email',
  muted: 0,
  ...noEndpoint,
  ...fields,
});
const defaults: EndpointPolicy = {
  retryScheduleS: [5, 30],
  maxAgeS: 3600,
  ratePerSecond: 50,
  maxInFlight: 4,
  circuitFailureThreshold: 5,
  circuitCooldownS: 30,
};
const webhook = (userId: string, endpointId: string, fields: Partial<Subscription> = {}): Subscription =>
  subscription(userId, { channel: 'webhook', endpoint_id: endpointId, endpoint_enabled: 1, ...fields });

const decideAudience = (event: Parameters<typeof decideWithDefaults>[0], rows: Subscription[], optOuts?: OptOut[]) =>
  decideWithDefaults(event, rows, defaults, optOuts);
const optOut = (userId: string, fields: Partial<OptOut> = {}): OptOut => ({
  user_id: userId,
  channel: 'email',
  flow_id: 'F1',
  status: 'success',
  source: 'one-click',
  created_at: new Date('2025-03-04T10:00:00Z'),
  ...fields,
});

describe('decideAudience', () => {
  const success = { flowId: 'F1', status: 'success' as const };

  it('makes a recipient of a matching, unmuted subscription', () => {
    const audience = decideAudience(success, [subscription('1'), subscription('2', { flow_id: 'F1' })]);
    expect(audience.recipients.map((r) => r.userId)).toEqual(['1', '2']);
    expect(audience.suppressed).toEqual([]);
  });

  it('suppresses muted users and users not subscribed to the flow or the status, saying which', () => {
    const audience = decideAudience(success, [
      subscription('1', { muted: 1 }),
      subscription('2', { flow_id: 'F2' }),
      subscription('3', { on_success: 0 }),
    ]);
    expect(audience.recipients).toEqual([]);
    expect(audience.suppressed).toEqual([
      { userId: '1', channel: 'email', reason: 'muted' },
      { userId: '2', channel: 'email', reason: 'not subscribed to flow F1' },
      { userId: '3', channel: 'email', reason: 'not subscribed to success events' },
    ]);
  });

  it('sends once to a user whose several subscriptions match, if any of them is unmuted', () => {
    const audience = decideAudience({ flowId: 'F1', status: 'failure' }, [
      subscription('1', { muted: 1 }),
      subscription('1', { flow_id: 'F1' }),
      subscription('1', { flow_id: 'F9' }),
    ]);
    expect(audience.recipients.map((r) => r.userId)).toEqual(['1']);
    expect(audience.suppressed).toEqual([]);
  });

  it("makes one recipient per webhook endpoint, with the endpoint's own policy over the defaults", () => {
    const audience = decideAudience(success, [
      subscription('1'),
      webhook('1', '7', { retry_schedule_s: '[1, 2]', circuit_cooldown_s: 3 }),
      webhook('1', '8', { retry_schedule_s: [9] }),
    ]);
    expect(audience.recipients.map((r) => [r.channel, r.endpoint?.id])).toEqual([
      ['email', undefined],
      ['webhook', '7'],
      ['webhook', '8'],
    ]);
    expect(audience.recipients[1]!.endpoint!.policy).toEqual({
      ...defaults,
      retryScheduleS: [1, 2],
      circuitCooldownS: 3,
    });
    expect(audience.recipients[2]!.endpoint!.policy.retryScheduleS).toEqual([9]);
  });

  it('suppresses a webhook subscription whose endpoint is disabled or missing, saying which', () => {
    const audience = decideAudience(success, [
      webhook('1', '7', { endpoint_enabled: 0, endpoint_disabled_reason: '410 Gone' }),
      webhook('2', '8', { endpoint_enabled: null }),
    ]);
    expect(audience.recipients).toEqual([]);
    expect(audience.suppressed).toEqual([
      { userId: '1', channel: 'webhook', endpointId: '7', reason: 'webhook endpoint 7 is disabled (410 Gone)' },
      { userId: '2', channel: 'webhook', endpointId: '8', reason: 'webhook endpoint 8 does not exist' },
    ]);
  });

  it("suppresses a recipient's own opt-out of the event's flow and status on that channel, with its date", () => {
    const unsubscribed = 'unsubscribed by the recipient on 2025-03-04';
    const rows = [subscription('1'), subscription('2'), subscription('3'), subscription('4'), webhook('1', '7')];
    const audience = decideAudience(success, rows, [
      optOut('1'),
      optOut('2', { flow_id: null, status: 'both' }),
      optOut('3', { status: 'failure' }),
      optOut('4', { flow_id: 'F2' }),
    ]);
    expect(audience.suppressed).toEqual([
      { userId: '1', channel: 'email', reason: unsubscribed },
      { userId: '2', channel: 'email', reason: unsubscribed },
    ]);
    expect(audience.recipients.map((r) => [r.userId, r.channel])).toEqual([
      ['3', 'email'],
      ['4', 'email'],
      ['1', 'webhook'],
    ]);
    const failure = decideAudience({ flowId: 'F1', status: 'failure' }, [subscription('1')], [optOut('1')]);
    expect(failure.recipients.map((r) => r.userId)).toEqual(['1']);
  });

  it('says a complaint suppresses because the recipient marked a mail as spam', () => {
    const audience = decideAudience(
      success,
      [subscription('1')],
      [optOut('1', { flow_id: null, status: 'both', source: 'complaint' })],
    );
    expect(audience.suppressed).toEqual([
      { userId: '1', channel: 'email', reason: 'marked as spam by the recipient on 2025-03-04' },
    ]);
  });

  it("names the subscription's own reason first when the recipient opted out as well", () => {
    const audience = decideAudience(success, [subscription('1', { muted: 1 })], [optOut('1')]);
    expect(audience.suppressed).toEqual([{ userId: '1', channel: 'email', reason: 'muted' }]);
  });

  it('suppresses email to an address on the suppression list, with its date and status, and nothing else of that user', () => {
    const bounced = [
      { address: 'U1@example.test', status_code: '5.1.1', last_seen_at: new Date('2025-05-06T08:00:00Z') },
    ];
    const rows = [subscription('1'), webhook('1', '7'), subscription('2')];
    const audience = decideWithDefaults(success, rows, defaults, [], bounced);
    expect(audience.suppressed).toEqual([
      { userId: '1', channel: 'email', reason: 'address bounced on 2025-05-06: 5.1.1' },
    ]);
    expect(audience.recipients.map((r) => [r.userId, r.channel])).toEqual([
      ['1', 'webhook'],
      ['2', 'email'],
    ]);
  });

  it("collects into the subscription's digest only when every subscription asking for the event collects", () => {
    const digest = { digest_window_s: 3600, digest_max_items: 20 };
    const [digested] = decideAudience(success, [subscription('1', { flow_id: 'F1', ...digest })]).recipients;
    expect(digested!.digest).toEqual({ key: '1:email:0:F1', flowId: 'F1', windowS: 3600, maxItems: 20 });
    const mixed = decideAudience(success, [subscription('1', digest), subscription('1', { flow_id: 'F1' })]);
    expect(mixed.recipients[0]!.digest).toBeUndefined();
    const hook = decideAudience(success, [webhook('2', '9', { digest_window_s: 60, digest_max_items: null })]);
    expect(hook.recipients[0]!.digest).toEqual({ key: '2:webhook:9:*', flowId: null, windowS: 60, maxItems: 500 });
  });

  it("takes the recipient's own daily digest of the flow over the subscription's, on email only", () => {
    const chosen = [{ user_id: '1', channel: 'email' as const, flow_scope: 'F1', window_s: 86_400 }];
    const rows = [subscription('1'), subscription('1', { channel: 'sms' })];
    const { recipients } = decideWithDefaults(success, rows, defaults, [], [], chosen);
    expect(recipients.map((r) => [r.channel, r.digest])).toEqual([
      ['email', { key: '1:email:0:F1', flowId: 'F1', windowS: 86_400, maxItems: 100 }],
      ['sms', undefined],
    ]);
  });
});
