import type { Channel } from './domain.js';

/**
 * What a recipient's preference page shows and changes, as pure functions of two lists: the subscriptions the
 * customer set up for the user (unmuted ones; the customer's mute is not the recipient's to lift) and the user's own
 * opt-outs (`recipient_opt_outs`). A recipient never changes a subscription: turning something off records an
 * opt-out, turning it back on removes the opt-outs that cover it, so the audience lookup suppresses exactly what is
 * off ("unsubscribed by the recipient on <date>") and delivers again what is turned back on.
 */

/** One thing a recipient can turn on or off: one status of one flow (or every flow, `null`) on one channel. */
export interface Switch {
  flowId: string | null;
  status: 'success' | 'failure';
  channel: Channel;
}

/** A subscription as the page reads it. */
export interface SubscribedScope {
  flowId: string | null;
  onSuccess: boolean;
  onFailure: boolean;
  channel: Channel;
}

/** One of the user's opt-outs; `flowId` null is every flow, `both` is success and failure. */
export interface OptOutScope {
  id: string;
  channel: Channel;
  flowId: string | null;
  status: 'success' | 'failure' | 'both';
}

/** What the page shows: each switch on or off, and whether everything is muted. */
export interface Preferences {
  switches: (Switch & { key: string; on: boolean })[];
  muted: boolean;
}

/** What a saved form asks for. `shown`: the switch keys the form showed (only those change); `muted` undefined: not asked. */
export interface Choice {
  on: ReadonlySet<string>;
  shown: ReadonlySet<string>;
  muted?: boolean;
}

/** The opt-outs to delete (by id) and to add (source 'preferences') so that the user's choice holds. */
export interface Plan {
  remove: string[];
  add: Omit<OptOutScope, 'id'>[];
}

/** What a save changed, for the page that answers it. */
export interface Changes {
  muted?: 'muted' | 'unmuted';
  off: Switch[];
  on: Switch[];
}

const statuses = ['success', 'failure'] as const;

/** A switch's name in the form: stable, and never parsed (the server matches it against the switches it computes). */
export const switchKey = (s: Switch): string => `${s.channel} ${s.status} ${s.flowId ?? '*'}`;

const covers = (o: Omit<OptOutScope, 'id'>, s: Switch) =>
  o.channel === s.channel &&
  (o.flowId === null || o.flowId === s.flowId) &&
  (o.status === 'both' || o.status === s.status);

/** "Mute everything" is one every-flow, both-status opt-out per channel the user is subscribed on. */
const isMute = (o: Omit<OptOutScope, 'id'>) => o.flowId === null && o.status === 'both';

const subscribedTo = (subscriptions: SubscribedScope[], s: Switch) =>
  subscriptions.some(
    (sub) =>
      sub.channel === s.channel &&
      (sub.flowId === null || sub.flowId === s.flowId) &&
      (s.status === 'success' ? sub.onSuccess : sub.onFailure),
  );

/** Sorts every flow first, then flows by name, success before failure, channels by name. */
const rank = (s: Switch) =>
  [s.flowId === null ? '0' : `1${s.flowId}`, s.status === 'success' ? 0 : 1, s.channel].join('\0');

/**
 * The switches of a user: every flow, status and channel of their subscriptions, and the flows their own opt-outs
 * name where a subscription covers them (a one-click unsubscribe from a mail of an every-flow subscription shows as
 * that flow, off). In {@link rank}'s order.
 */
function switchesOf(subscriptions: SubscribedScope[], optOuts: OptOutScope[]): Switch[] {
  const fromSubscriptions = subscriptions.flatMap((sub) =>
    statuses
      .filter((status) => (status === 'success' ? sub.onSuccess : sub.onFailure))
      .map((status) => ({ flowId: sub.flowId, status, channel: sub.channel })),
  );
  const fromOptOuts = optOuts
    .filter((o) => o.flowId !== null)
    .flatMap((o) =>
      statuses
        .filter((status) => o.status === 'both' || o.status === status)
        .map((status) => ({ flowId: o.flowId, status, channel: o.channel })),
    )
    .filter((s) => subscribedTo(subscriptions, s));
  const byKey = new Map([...fromSubscriptions, ...fromOptOuts].map((s) => [switchKey(s), s]));
  return [...byKey.values()].sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0));
}

const channelsOf = (subscriptions: SubscribedScope[]) => [...new Set(subscriptions.map((s) => s.channel))];

const isMuted = (subscriptions: SubscribedScope[], optOuts: Omit<OptOutScope, 'id'>[]) => {
  const channels = channelsOf(subscriptions);
  return channels.length > 0 && channels.every((ch) => optOuts.some((o) => isMute(o) && o.channel === ch));
};

/** While everything is muted, the switches show what the recipient chose beneath the mute, to come back on unmute. */
const beneathMute = <T extends Omit<OptOutScope, 'id'>>(optOuts: T[], muted: boolean): T[] =>
  muted ? optOuts.filter((o) => !isMute(o)) : optOuts;

/** What the page shows for these subscriptions and opt-outs. */
export function preferencesOf(subscriptions: SubscribedScope[], optOuts: OptOutScope[]): Preferences {
  const muted = isMuted(subscriptions, optOuts);
  const effective = beneathMute(optOuts, muted);
  return {
    muted,
    switches: switchesOf(subscriptions, optOuts).map((s) => ({
      ...s,
      key: switchKey(s),
      on: !effective.some((o) => covers(o, s)),
    })),
  };
}

/**
 * The opt-outs to remove and add so that the shown switches are as chosen and everything is muted or not: a switch
 * turned on removes every opt-out covering it (and re-adds, narrowly, what that opt-out covered and should stay off);
 * a switch turned off adds its own opt-out unless one covers it already. Opt-outs of what the form did not show stay.
 */
export function planChoice(subscriptions: SubscribedScope[], optOuts: OptOutScope[], choice: Choice): Plan {
  const muted = isMuted(subscriptions, optOuts);
  const base = beneathMute(optOuts, muted);
  const shown = switchesOf(subscriptions, optOuts).filter((s) => choice.shown.has(switchKey(s)));
  const wantedOn = (s: Switch) => choice.on.has(switchKey(s));
  const remove = base.filter((o) => shown.some((s) => wantedOn(s) && covers(o, s)));
  const kept = base.filter((o) => !remove.includes(o));
  const add: Plan['add'] = shown
    .filter((s) => !wantedOn(s) && !kept.some((o) => covers(o, s)))
    .map(({ flowId, status, channel }) => ({ flowId, status, channel }));
  if (choice.muted === true && !muted)
    for (const channel of channelsOf(subscriptions))
      if (!kept.some((o) => isMute(o) && o.channel === channel)) add.push({ channel, flowId: null, status: 'both' });
  if (choice.muted === false && muted) remove.push(...optOuts.filter(isMute));
  return { remove: [...new Set(remove.map((o) => o.id))], add };
}

/** The difference between the page before and after a save. */
export function changesBetween(before: Preferences, after: Preferences): Changes {
  const was = new Map(before.switches.map((s) => [s.key, s.on]));
  const changed = after.switches.filter((s) => was.has(s.key) && was.get(s.key) !== s.on);
  const strip = ({ flowId, status, channel }: Switch): Switch => ({ flowId, status, channel });
  return {
    ...(before.muted === after.muted ? {} : { muted: after.muted ? 'muted' : 'unmuted' }),
    off: changed.filter((s) => !s.on).map(strip),
    on: changed.filter((s) => s.on).map(strip),
  };
}

const channelNames: Record<Channel, string> = {
  email: 'email',
  sms: 'SMS',
  push: 'push notification',
  webhook: 'webhook',
};

/** "Success events by email": a switch's label within its flow's group. */
export const switchLabel = (s: Switch): string =>
  `${s.status === 'success' ? 'Success' : 'Failure'} events by ${channelNames[s.channel]}`;

/** "Flow F1063" or "Every flow": the name of a flow's group. */
export const flowName = (flowId: string | null): string => (flowId === null ? 'Every flow' : `Flow ${flowId}`);

const describe = (s: Switch) =>
  `${s.status} events of ${s.flowId === null ? 'every flow' : `flow ${s.flowId}`} by ${channelNames[s.channel]}`;

/** "Turned off: …; turned on: …." or "Nothing changed." */
export function summaryOf(changes: Changes): string {
  const parts = [
    ...(changes.muted === 'muted' ? ['muted everything'] : changes.muted === 'unmuted' ? ['unmuted'] : []),
    ...(changes.off.length > 0 ? [`turned off: ${changes.off.map(describe).join(', ')}`] : []),
    ...(changes.on.length > 0 ? [`turned on: ${changes.on.map(describe).join(', ')}`] : []),
  ];
  if (parts.length === 0) return 'Nothing changed.';
  const sentence = parts.join('; ');
  return `${sentence[0]!.toUpperCase()}${sentence.slice(1)}.`;
}
