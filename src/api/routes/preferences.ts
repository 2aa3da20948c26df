import formbody from '@fastify/formbody';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { QuietHoursInput, quietHoursOperations } from '../../operations/quiet-hours.js';
import type { recipientOptOutOperations } from '../../operations/recipient-opt-outs.js';
import type { recipientDigestOperations } from '../../operations/recipient-digests.js';
import { type QuietHours, defaultQuietChannels, quietHoursProblem } from '../../quiet-hours.js';
import { InvalidLink, type LinkSigner, preferencesPath } from '../../recipient-links.js';
import { summaryOf } from '../../recipient-preferences.js';
import { messagePage, preferencesPage, recipientPageHeaders as pageHeaders } from '../pages/recipient-pages.js';

const page = { type: 'string', description: 'a page for a person (text/html)' };
const pageResponse = (description: string) => ({ description, content: { 'text/html': { schema: page } } });
const querystring = {
  type: 'object',
  properties: { token: { type: 'string', description: "the signed token of the link in the recipient's mail" } },
} as const;
const fieldValues = { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] } as const;
const formBody = {
  type: 'object',
  description: 'the preference form as a browser posts it',
  required: ['csrf'],
  properties: {
    csrf: { type: 'string', description: 'the form token the page carried, bound to the link token' },
    shown: { ...fieldValues, description: 'the switches the form showed ("mute" for the mute switch)' },
    on: { ...fieldValues, description: 'the switches ticked' },
    mute: { type: 'string', description: 'present when "Mute everything" is ticked' },
    quiet: { type: 'string', description: 'present when quiet hours are ticked' },
    quietFrom: { type: 'string', description: 'local HH:MM' },
    quietTo: { type: 'string', description: 'local HH:MM' },
    quietZone: { type: 'string', description: 'an IANA time zone' },
    quietFailures: { type: 'string', description: 'present when failures still come through' },
    shownDigest: {
      ...fieldValues,
      description: 'the flows (`*`: every flow) whose daily digest switch the form showed',
    },
    digest: { ...fieldValues, description: 'the flows whose emails come as a daily digest' },
  },
} as const;
type FormBody = {
  csrf: string;
  shown?: string | string[];
  on?: string | string[];
  mute?: string;
  quiet?: string;
  quietFrom?: string;
  quietTo?: string;
  quietZone?: string;
  quietFailures?: string;
  shownDigest?: string | string[];
  digest?: string | string[];
};
type Request = FastifyRequest<{ Querystring: { token?: string }; Body: FormBody }>;

/**
 * `/v1/preferences?token=…`, public (the token, signed for one user, is the proof; rate limited per address like
 * the rest): a GET shows the user's preference page, a POST of its form saves it and shows it again with what
 * changed. Only the token's user is ever read or changed. A POST is refused (403) when the browser says it comes from
 * another site (`Sec-Fetch-Site`, `Origin`) or when it lacks the page's form token; a missing, expired or forged link
 * token answers 400 with a page saying so.
 */
export const preferencesRoutes: FastifyPluginAsync<{
  signer: LinkSigner;
  optOuts: Pick<ReturnType<typeof recipientOptOutOperations>, 'preferences' | 'choose'>;
  quietHours: Pick<ReturnType<typeof quietHoursOperations>, 'find' | 'set' | 'remove'>;
  digests: Pick<ReturnType<typeof recipientDigestOperations>, 'chosen' | 'choose'>;
  /** PUBLIC_BASE_URL: the only origin a form may be posted from. */
  publicBaseUrl: string;
}> = async (app, { signer, optOuts, quietHours, digests, publicBaseUrl }) => {
  // Form bodies for this route only: the rest of the API takes JSON.
  await app.register(formbody);
  const ownOrigin = new URL(publicBaseUrl).origin;
  const schema = (summary: string) => ({ tags: ['recipients'], summary, security: [], querystring });

  app.get<{ Querystring: { token?: string } }>(
    preferencesPath,
    {
      schema: {
        ...schema("A recipient's preference page: their subscriptions per flow, status and channel, on or off"),
        response: { 200: pageResponse('The preference page'), 400: pageResponse('An invalid or expired link') },
      },
    },
    async (request, reply) => {
      const token = request.query.token ?? '';
      const userId = await userOf(signer, token, reply);
      if (userId === undefined) return reply;
      const { username, preferences } = await optOuts.preferences(userId);
      const quiet = await quietHours.find(userId);
      const form = {
        username,
        preferences,
        quietHours: quiet,
        digests: await digests.chosen(userId),
        action: actionOf(token),
        formToken: signer.formToken(token),
      };
      return reply.headers(pageHeaders).send(preferencesPage(form));
    },
  );

  app.post<{ Querystring: { token?: string }; Body: FormBody }>(
    preferencesPath,
    {
      attachValidation: true,
      schema: {
        ...schema("Saves a recipient's preference form (a browser's form POST from the page, with its form token)"),
        consumes: ['application/x-www-form-urlencoded'],
        body: formBody,
        response: {
          200: pageResponse('Saved: the page again, saying what changed'),
          400: pageResponse('An invalid or expired link, or not the form'),
          403: pageResponse('Posted from another site, or without the form token of the page'),
        },
      },
    },
    async (request: Request, reply) => {
      const elsewhere = crossSite(request, ownOrigin);
      if (elsewhere !== undefined) {
        request.log.warn({ from: elsewhere }, 'preference form refused: posted from another site');
        return sendPage(reply, 403, 'Not saved', 'This form was sent from another site. Nothing was changed.');
      }
      const token = request.query.token ?? '';
      const userId = await userOf(signer, token, reply);
      if (userId === undefined) return reply;
      if (request.validationError !== undefined || !signer.checkFormToken(token, request.body.csrf))
        return sendPage(reply, 403, 'Not saved', notTheForm);
      const before = await quietHours.find(userId);
      const quiet = quietChoiceOf(request.body, before);
      if (typeof quiet === 'string') return sendPage(reply, 400, 'Not saved', `${quiet} Nothing was changed.`);
      const { username, preferences, changes } = await optOuts.choose(userId, choiceOf(request.body));
      const after = await applyQuietChoice(quietHours, userId, quiet, before);
      const digestChanges = await digests.choose(userId, listOf(request.body.shownDigest), listOf(request.body.digest));
      const saved = savedSentence(summaryOf(changes), [quietSummary(before, after), digestSummary(digestChanges)]);
      request.log.info({ userId, changes: saved }, 'recipient saved their preferences');
      const form = {
        username,
        preferences,
        quietHours: after,
        digests: await digests.chosen(userId),
        action: actionOf(token),
        formToken: signer.formToken(token),
        saved,
      };
      return reply.headers(pageHeaders).send(preferencesPage(form));
    },
  );
};

const notTheForm =
  'This was not sent from your preference page, so nothing was changed. Open the link in your email again and save from there.';

/** The page posts to its own address: relative, so it holds behind a proxy's path prefix. */
const actionOf = (token: string) => `?token=${encodeURIComponent(token)}`;

/** Why a request comes from another site, by what the browser says (clients that say nothing pass). */
function crossSite(request: FastifyRequest, ownOrigin: string): string | undefined {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site: ${site}`;
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== ownOrigin) return `Origin: ${origin}`;
  return undefined;
}

const listOf = (value: string | string[] | undefined) => new Set([value ?? []].flat());

function choiceOf(body: FormBody) {
  const shown = listOf(body.shown);
  return {
    on: listOf(body.on),
    shown,
    ...(shown.has('mute') ? { muted: body.mute !== undefined } : {}),
  };
}

/**
 * What the form asks of quiet hours: a window to set, `null` to turn them off, undefined when the form did not show
 * them; a sentence saying what is wrong when the window is not valid.
 */
function quietChoiceOf(body: FormBody, before: QuietHours | undefined): QuietHoursInput | null | undefined | string {
  if (!listOf(body.shown).has('quiet')) return undefined;
  if (body.quiet === undefined) return null;
  const choice = {
    timeZone: (body.quietZone ?? '').trim(),
    startsAt: body.quietFrom ?? '',
    endsAt: body.quietTo ?? '',
    // The channels the customer chose stay; a window the recipient makes holds texts and push.
    channels: before?.channels ?? defaultQuietChannels,
    failuresExempt: body.quietFailures !== undefined,
  };
  const problem = quietHoursProblem(choice);
  return problem === undefined ? choice : `Quiet hours: ${problem}.`;
}

/** Sets or removes the user's quiet hours as the form asked; what they are now. */
async function applyQuietChoice(
  quietHours: Pick<ReturnType<typeof quietHoursOperations>, 'find' | 'set' | 'remove'>,
  userId: string,
  choice: QuietHoursInput | null | undefined,
  before: QuietHours | undefined,
): Promise<QuietHours | undefined> {
  if (choice === null && before !== undefined) await quietHours.remove(userId, undefined);
  if (choice !== null && choice !== undefined) await quietHours.set(userId, choice, undefined);
  return quietHours.find(userId);
}

/** What a save did, in a sentence or a few. */
function savedSentence(optOutChange: string, otherChanges: string[]): string {
  const others = otherChanges.filter(Boolean);
  if (others.length === 0) return optOutChange;
  return [...(optOutChange === 'Nothing changed.' ? [] : [optOutChange]), ...others].join(' ');
}

/** "Daily digest on: F1063." / "Daily digest off: every flow." when they changed. */
function digestSummary({ on, off }: { on: string[]; off: string[] }): string {
  const names = (scopes: string[]) => scopes.map((s) => (s === '*' ? 'every flow' : s)).join(', ');
  return [
    on.length > 0 ? `Daily digest on: ${names(on)}.` : '',
    off.length > 0 ? `Daily digest off: ${names(off)}.` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** "Quiet hours: 22:00 to 07:00, Europe/Paris." when they changed, "Quiet hours off." when removed. */
function quietSummary(before: QuietHours | undefined, after: QuietHours | undefined): string {
  if (JSON.stringify(before) === JSON.stringify(after)) return '';
  if (after === undefined) return 'Quiet hours off.';
  return `Quiet hours: ${after.startsAt} to ${after.endsAt}, ${after.timeZone}${after.failuresExempt ? ', failures at once' : ''}.`;
}

/** The user of the link token, or undefined once a 400 page saying why has been sent. */
async function userOf(signer: LinkSigner, token: string, reply: FastifyReply): Promise<string | undefined> {
  try {
    return await signer.verifyPreferences(token);
  } catch (error) {
    if (!(error instanceof InvalidLink)) throw error;
    await sendPage(
      reply,
      400,
      'Link not valid',
      error.why === 'expired'
        ? 'This link to your notification preferences has expired. Use the link in a more recent email.'
        : 'This link to your notification preferences is not valid: it may have been cut short or changed. Use the link in the email as it is.',
    );
    return undefined;
  }
}

const sendPage = (reply: FastifyReply, status: 400 | 403, title: string, sentence: string) =>
  reply.code(status).headers(pageHeaders).send(messagePage(title, sentence));
