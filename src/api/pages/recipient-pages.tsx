import type { ReactNode } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { brandStyles, textStyle } from '../../../emails/_components/layout.js';
import type { QuietHours } from '../../quiet-hours.js';
import { flowScopeOf } from '../../operations/recipient-digests.js';
import { type Preferences, type Switch, flowName, switchLabel } from '../../recipient-preferences.js';

const styles = {
  title: { ...textStyle, fontSize: '19px', fontWeight: 700, margin: '0 0 16px' },
  text: textStyle,
  status: { ...textStyle, backgroundColor: '#eef4ff', borderRadius: '6px', padding: '12px 16px' },
  fieldset: { border: '1px solid #e5e7eb', borderRadius: '6px', margin: '0 0 16px', padding: '8px 16px 12px' },
  legend: { ...textStyle, fontWeight: 700, padding: '0 4px' },
  row: { ...textStyle, alignItems: 'center', display: 'flex', gap: '8px', padding: '4px 0' },
  field: { fontFamily: 'inherit', fontSize: '15px', padding: '4px 6px' },
  checkbox: { height: '18px', margin: 0, width: '18px' },
  note: brandStyles.footer,
  button: {
    backgroundColor: '#1f6feb',
    border: 0,
    borderRadius: '6px',
    color: '#ffffff',
    cursor: 'pointer',
    fontFamily: 'inherit',
    fontSize: '15px',
    fontWeight: 700,
    padding: '10px 20px',
  },
} as const;

/** Orderly's look, as in its emails (the same colours, font and frame); no script anywhere. */
function Page({ title, children }: { title: string; children: ReactNode }) {
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>{`${title} · Orderly`}</title>
      </head>
      <body style={brandStyles.body}>
        <main style={brandStyles.container}>
          <p style={brandStyles.brand}>Orderly</p>
          <h1 style={styles.title}>{title}</h1>
          {children}
        </main>
      </body>
    </html>
  );
}

const render = (page: ReactNode) => `<!doctype html>\n${renderToStaticMarkup(page)}\n`;

/**
 * What every recipient page is sent with: no script, no framing, no caching, and no referrer (which carries the
 * token) beyond Orderly's own origin; within it the referrer stays, since a browser sends `Origin: null` with a form
 * whose page says `no-referrer`, and the preference page's cross-site check needs the real origin.
 */
export const recipientPageHeaders = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

/** A page that only says something: an invalid link, a refused form. */
export const messagePage = (title: string, sentence: string): string =>
  render(
    <Page title={title}>
      <p style={styles.text}>{sentence}</p>
    </Page>,
  );

/** The page of a one-click unsubscribe link: GET changes nothing (RFC 8058), its button posts the one-click body. */
export const unsubscribePage = (question: string, action: string): string =>
  render(
    <Page title="Unsubscribe">
      <form method="post" action={action}>
        <p style={styles.text}>{question}</p>
        <input type="hidden" name="List-Unsubscribe" value="One-Click" />
        <button type="submit" style={styles.button}>
          Unsubscribe
        </button>
      </form>
    </Page>,
  );

/** What the preference page needs: the user's name and switches, where the form posts, its token, what a save did. */
export interface PreferencesPageInput {
  username: string | undefined;
  preferences: Preferences;
  /** The form's target: the page's own address (relative, so it holds behind a proxy's path prefix). */
  action: string;
  formToken: string;
  /** The user's quiet hours, if any. */
  quietHours: QuietHours | undefined;
  /** The flow scopes (a flow id, `*` for every flow) whose emails the user takes as a daily digest. */
  digests: ReadonlySet<string>;
  /** After a save: "Turned off: …" or "Nothing changed." */
  saved?: string;
}

/**
 * The preference page: one group per flow (`<fieldset>` and `<legend>`), one labelled checkbox per status and
 * channel, ticked when it is on; "Mute everything"; one Save button. Works without JavaScript (a plain form POST).
 */
export function preferencesPage({
  username,
  preferences,
  action,
  formToken,
  quietHours,
  digests,
  saved,
}: PreferencesPageInput): string {
  const flows = [...new Set(preferences.switches.map((s) => s.flowId))];
  return render(
    <Page title="Notification preferences">
      {saved === undefined ? null : (
        <p role="status" style={styles.status}>
          Saved. {saved}
        </p>
      )}
      {preferences.switches.length === 0 ? (
        <p style={styles.text}>There are no notifications for you to choose from: none is set up for you.</p>
      ) : (
        <form method="post" action={action}>
          <p style={styles.text}>
            {username === undefined ? 'Choose' : `${username}, choose`} which notifications you receive. Untick what you
            do not want, then save.
          </p>
          <input type="hidden" name="csrf" value={formToken} />
          {flows.map((flowId, group) => (
            <FlowGroup key={flowId ?? ''} group={group} flowId={flowId} preferences={preferences} digests={digests} />
          ))}
          <fieldset style={styles.fieldset}>
            <legend style={styles.legend}>Everything</legend>
            <input type="hidden" name="shown" value="mute" />
            <Checkbox
              id="mute"
              name="mute"
              value="on"
              checked={preferences.muted}
              label="Mute everything"
              describedBy="mute-note"
            />
            <p id="mute-note" style={styles.note}>
              While this is ticked you receive no notifications at all; your choices above come back when you untick it.
            </p>
          </fieldset>
          <QuietHoursGroup quietHours={quietHours} />
          <button type="submit" style={styles.button}>
            Save
          </button>
        </form>
      )}
    </Page>,
  );
}

/** Quiet hours: on or off, from and to (local times), the time zone, and whether failures come through. */
function QuietHoursGroup({ quietHours }: { quietHours: QuietHours | undefined }) {
  return (
    <fieldset style={styles.fieldset}>
      <legend style={styles.legend}>Quiet hours</legend>
      <input type="hidden" name="shown" value="quiet" />
      <Checkbox
        id="quiet"
        name="quiet"
        value="on"
        checked={quietHours !== undefined}
        label={`Hold ${quietHours === undefined ? 'texts and push notifications' : channelsText(quietHours)} during quiet hours`}
        describedBy="quiet-note"
      />
      <div style={styles.row}>
        <TimeInput id="quiet-from" name="quietFrom" label="From" value={quietHours?.startsAt ?? '22:00'} />
        <TimeInput id="quiet-to" name="quietTo" label="to" value={quietHours?.endsAt ?? '07:00'} />
      </div>
      <div style={styles.row}>
        <label htmlFor="quiet-zone">Time zone</label>
        <input
          id="quiet-zone"
          name="quietZone"
          list="time-zones"
          defaultValue={quietHours?.timeZone ?? 'UTC'}
          style={styles.field}
        />
        <datalist id="time-zones">
          {Intl.supportedValuesOf('timeZone').map((zone) => (
            <option key={zone} value={zone} />
          ))}
        </datalist>
      </div>
      <Checkbox
        id="quiet-failures"
        name="quietFailures"
        value="on"
        checked={quietHours?.failuresExempt ?? false}
        label="Failures still come through at once"
      />
      <p id="quiet-note" style={styles.note}>
        What arrives in these hours waits until they end, in your time zone; nothing is lost.
      </p>
    </fieldset>
  );
}

function TimeInput({ id, name, label, value }: { id: string; name: string; label: string; value: string }) {
  return (
    <>
      <label htmlFor={id}>{label}</label>
      <input type="time" id={id} name={name} defaultValue={value} style={styles.field} />
    </>
  );
}

const channelNames: Record<string, string> = {
  email: 'emails',
  sms: 'texts',
  push: 'push notifications',
  webhook: 'webhooks',
};
const channelsText = (quietHours: QuietHours) => quietHours.channels.map((c) => channelNames[c] ?? c).join(' and ');

/** A flow's switches and, when it sends emails, whether they come as one daily digest. */
function FlowGroup({
  group,
  flowId,
  preferences,
  digests,
}: {
  group: number;
  flowId: string | null;
  preferences: Preferences;
  digests: ReadonlySet<string>;
}) {
  const switches = preferences.switches.filter((s: Switch) => s.flowId === flowId);
  const scope = flowScopeOf(flowId);
  return (
    <fieldset style={styles.fieldset}>
      <legend style={styles.legend}>{flowName(flowId)}</legend>
      {switches.map((s, i) => (
        <div key={s.key}>
          <input type="hidden" name="shown" value={s.key} />
          <Checkbox id={`switch-${group}-${i}`} name="on" value={s.key} checked={s.on} label={switchLabel(s)} />
        </div>
      ))}
      {switches.some((s) => s.channel === 'email') ? (
        <div>
          <input type="hidden" name="shownDigest" value={scope} />
          <Checkbox
            id={`digest-${group}`}
            name="digest"
            value={scope}
            checked={digests.has(scope)}
            label="Daily digest: these emails together, once a day"
          />
        </div>
      ) : null}
    </fieldset>
  );
}

function Checkbox(props: {
  id: string;
  name: string;
  value: string;
  checked: boolean;
  label: string;
  describedBy?: string;
}) {
  return (
    <div style={styles.row}>
      <input
        type="checkbox"
        id={props.id}
        name={props.name}
        value={props.value}
        defaultChecked={props.checked}
        aria-describedby={props.describedBy}
        style={styles.checkbox}
      />
      <label htmlFor={props.id}>{props.label}</label>
    </div>
  );
}
