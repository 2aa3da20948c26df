import { describe, expect, it } from 'vitest';
import {
  type Choice,
  type OptOutScope,
  type SubscribedScope,
  changesBetween,
  planChoice,
  preferencesOf,
  summaryOf,
} from '../../src/recipient-preferences.js';

const sub = (
  flowId: string | null,
  channel: SubscribedScope['channel'] = 'email',
  onFailure = true,
): SubscribedScope => ({
  flowId,
  onSuccess: true,
  onFailure,
  channel,
});
const optOut = (
  id: string,
  flowId: string | null,
  status: OptOutScope['status'],
  channel: OptOutScope['channel'] = 'email',
): OptOutScope => ({ id, channel, flowId, status });
/** Every switch of these preferences as `key: on`. */
const shownAs = (subscriptions: SubscribedScope[], optOuts: OptOutScope[]) =>
  Object.fromEntries(preferencesOf(subscriptions, optOuts).switches.map((s) => [s.key, s.on]));
/** A form that showed every switch (and the mute switch) and ticked `on`. */
const form = (subscriptions: SubscribedScope[], optOuts: OptOutScope[], on: string[], muted = false): Choice => ({
  on: new Set(on),
  shown: new Set(preferencesOf(subscriptions, optOuts).switches.map((s) => s.key)),
  muted,
});
/** What the opt-outs are after a plan is carried out (new ones get ids n1, n2...). */
const apply = (optOuts: OptOutScope[], plan: ReturnType<typeof planChoice>): OptOutScope[] => [
  ...optOuts.filter((o) => !plan.remove.includes(o.id)),
  ...plan.add.map((o, i) => ({ ...o, id: `n${i + 1}` })),
];

describe("a recipient's preferences", () => {
  it('shows each flow, status and channel subscribed, every flow first, off where an opt-out covers it', () => {
    const subscriptions = [sub('F2001', 'sms', false), sub('F1063'), sub(null, 'push', false)];
    expect(shownAs(subscriptions, [optOut('1', 'F1063', 'success')])).toEqual({
      'push success *': true,
      'email success F1063': false,
      'email failure F1063': true,
      'sms success F2001': true,
    });
    expect(Object.keys(shownAs(subscriptions, [])), 'in order').toEqual([
      'push success *',
      'email success F1063',
      'email failure F1063',
      'sms success F2001',
    ]);
    expect(shownAs([sub('F1063')], [optOut('1', null, 'failure')]), 'an every-flow opt-out covers the flow').toEqual({
      'email success F1063': true,
      'email failure F1063': false,
    });
  });

  it('shows a flow turned off from a mail of an every-flow subscription as that flow, off', () => {
    expect(shownAs([sub(null)], [optOut('1', 'F1063', 'success'), optOut('2', 'F9', 'success', 'email')])).toEqual({
      'email success *': true,
      'email failure *': true,
      'email success F1063': false,
      'email success F9': false,
    });
    expect(shownAs([sub('F2001')], [optOut('1', 'F1063', 'both')]), 'not what no subscription covers').toEqual({
      'email success F2001': true,
      'email failure F2001': true,
    });
  });

  it('turning a switch off adds its own opt-out; turning it back on removes it; the rest is untouched', () => {
    const subscriptions = [sub('F1063'), sub('F2001')];
    const off = planChoice(
      subscriptions,
      [],
      form(subscriptions, [], ['email failure F1063', 'email success F2001', 'email failure F2001']),
    );
    expect(off).toEqual({ remove: [], add: [{ channel: 'email', flowId: 'F1063', status: 'success' }] });
    const optOuts = apply([], off);
    const everything = ['email success F1063', 'email failure F1063', 'email success F2001', 'email failure F2001'];
    expect(planChoice(subscriptions, optOuts, form(subscriptions, optOuts, everything))).toEqual({
      remove: ['n1'],
      add: [],
    });
    const unchanged = everything.filter((k) => k !== 'email success F1063');
    expect(planChoice(subscriptions, optOuts, form(subscriptions, optOuts, unchanged))).toEqual({
      remove: [],
      add: [],
    });
  });

  it('turning on one status of a both-status opt-out keeps the other off, narrowly', () => {
    const subscriptions = [sub('F1063')];
    const optOuts = [optOut('7', 'F1063', 'both')];
    const plan = planChoice(subscriptions, optOuts, form(subscriptions, optOuts, ['email success F1063']));
    expect(plan).toEqual({ remove: ['7'], add: [{ channel: 'email', flowId: 'F1063', status: 'failure' }] });
    expect(shownAs(subscriptions, apply(optOuts, plan))).toEqual({
      'email success F1063': true,
      'email failure F1063': false,
    });
  });

  it('changes only the switches the form showed', () => {
    const subscriptions = [sub('F1063'), sub('F2001')];
    const choice: Choice = { on: new Set(), shown: new Set(['email success F1063']) };
    expect(planChoice(subscriptions, [], choice).add).toEqual([
      { channel: 'email', flowId: 'F1063', status: 'success' },
    ]);
  });

  it('mutes everything per channel without losing the choices beneath, which come back on unmute', () => {
    const subscriptions = [sub('F1063'), sub(null, 'sms', false)];
    const before = [optOut('1', 'F1063', 'success')];
    const ticked = ['email failure F1063', 'sms success *'];
    const mute = planChoice(subscriptions, before, form(subscriptions, before, ticked, true));
    expect(mute).toEqual({
      remove: [],
      add: [
        { channel: 'email', flowId: null, status: 'both' },
        { channel: 'sms', flowId: null, status: 'both' },
      ],
    });
    const muted = apply(before, mute);
    expect(preferencesOf(subscriptions, muted).muted).toBe(true);
    expect(shownAs(subscriptions, muted), 'the switches show the choices beneath').toEqual(
      shownAs(subscriptions, before),
    );
    const unmute = planChoice(subscriptions, muted, form(subscriptions, muted, ticked, false));
    expect(unmute).toEqual({ remove: ['n1', 'n2'], add: [] });
    expect(apply(muted, unmute)).toEqual(before);
  });

  it('says what changed: "Turned off: …; turned on: …", muting, or "Nothing changed."', () => {
    const subscriptions = [sub('F1063'), sub(null, 'sms', false)];
    const before = preferencesOf(subscriptions, [optOut('1', 'F1063', 'failure')]);
    const after = preferencesOf(subscriptions, [
      optOut('2', 'F1063', 'success'),
      optOut('3', null, 'success', 'email'),
    ]);
    expect(summaryOf(changesBetween(before, after))).toBe(
      'Turned off: success events of flow F1063 by email; turned on: failure events of flow F1063 by email.',
    );
    expect(summaryOf(changesBetween(before, before))).toBe('Nothing changed.');
    const muted = preferencesOf(subscriptions, [
      optOut('1', 'F1063', 'failure'),
      optOut('4', null, 'both'),
      optOut('5', null, 'both', 'sms'),
    ]);
    expect(summaryOf(changesBetween(before, muted))).toBe('Muted everything.');
    expect(summaryOf(changesBetween(muted, preferencesOf(subscriptions, [])))).toBe(
      'Unmuted; turned on: failure events of flow F1063 by email.',
    );
  });
});
