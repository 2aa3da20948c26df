import { describe, expect, it } from 'vitest';
import { type Subscription, decideAudience } from '../../src/activities/preferences.js';

const subscription = (userId: string, fields: Partial<Subscription> = {}): Subscription =>
  ({ user_id: userId, username: `user${userId}`, email: `u${userId}@example.test`, flow_id: null, on_success: 1, on_failure: 1, channel: 'email', muted: 0, ...fields });

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
});
