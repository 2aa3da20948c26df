import { createECDH, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  InvalidContact,
  parseFcmToken,
  parsePhoneNumber,
  parseWebPushSubscription,
} from '../../src/providers/contacts.js';
import { countSegments, fitToSegments } from '../../src/providers/sms-text.js';

describe('countSegments', () => {
  it.each([
    ['plain GSM-7, one segment at 160', 'a'.repeat(160), { encoding: 'GSM-7', segments: 1, units: 160 }],
    ['GSM-7 concatenated at 153 per segment', 'a'.repeat(161), { encoding: 'GSM-7', segments: 2, units: 161 }],
    ['GSM-7 three segments past 306', 'a'.repeat(307), { encoding: 'GSM-7', segments: 3, units: 307 }],
    ['extension characters count double', '€'.repeat(80), { encoding: 'GSM-7', segments: 1, units: 160 }],
    ['one extension character too many', '€'.repeat(81), { encoding: 'GSM-7', segments: 2, units: 162 }],
    ['accented letters in the GSM alphabet stay GSM-7', 'Café à Zürich', { encoding: 'GSM-7', segments: 1, units: 13 }],
    ['one character outside GSM-7 makes it UCS-2', 'a'.repeat(69) + 'ç', { encoding: 'UCS-2', segments: 1, units: 70 }],
    ['UCS-2 concatenated at 67 per segment', 'ç'.repeat(71), { encoding: 'UCS-2', segments: 2, units: 71 }],
    ['an emoji takes two UCS-2 units', '📦'.repeat(35), { encoding: 'UCS-2', segments: 1, units: 70 }],
    ['36 emoji need a second segment', '📦'.repeat(36), { encoding: 'UCS-2', segments: 2, units: 72 }],
  ])('%s', (_name, text, expected) => {
    expect(countSegments(text)).toEqual(expected);
  });
});

describe('fitToSegments', () => {
  it('leaves a text that fits untouched', () => {
    expect(fitToSegments('Order 42 shipped', 1)).toBe('Order 42 shipped');
  });

  it('cuts GSM-7 text with three dots, which keep it GSM-7, to exactly the cap', () => {
    const cut = fitToSegments('word '.repeat(100), 2);
    expect(cut.endsWith('...')).toBe(true);
    expect(countSegments(cut)).toMatchObject({ encoding: 'GSM-7', segments: 2 });
    // As long as two segments allow: 306 units, less the dots, less the trailing space trimmed before them.
    expect(cut.length).toBeGreaterThanOrEqual(302);
    expect(countSegments(cut + 'x').segments).toBe(3);
  });

  it('cuts UCS-2 text with an ellipsis and never splits an emoji', () => {
    const cut = fitToSegments('📦'.repeat(100), 1);
    expect(cut).toBe('📦'.repeat(34) + '…');
    expect(countSegments(cut)).toMatchObject({ encoding: 'UCS-2', segments: 1, units: 69 });
  });

  it('counts an extension character as two when cutting', () => {
    const cut = fitToSegments('€'.repeat(200), 1);
    expect(cut).toBe('€'.repeat(78) + '...');
    expect(countSegments(cut).units).toBe(159);
  });

  it('refuses a cap below one segment', () => {
    expect(() => fitToSegments('x', 0)).toThrow(RangeError);
  });
});

describe('parsePhoneNumber', () => {
  it('normalises international input to E.164', () => {
    expect(parsePhoneNumber('+44 7400 123456')).toBe('+447400123456');
    expect(parsePhoneNumber(' +1 (415) 555-2671 ')).toBe('+14155552671');
  });

  it('reads national input only with a default country', () => {
    expect(parsePhoneNumber('07400 123456', 'GB')).toBe('+447400123456');
    expect(() => parsePhoneNumber('07400 123456')).toThrow(/not an international number/);
  });

  it('rejects numbers that do not fit the numbering plan, with a clear message', () => {
    expect(() => parsePhoneNumber('+44 1234')).toThrow(InvalidContact);
    // Right length, but Ofcom keeps 07700 900xxx for drama: only the full metadata knows.
    expect(() => parsePhoneNumber('+44 7700 900123')).toThrow(/"\+44 7700 900123" is not a valid number in \+44/);
    expect(() => parsePhoneNumber('+1 555 0100 999')).toThrow(/not a valid number in/);
    expect(() => parsePhoneNumber('call me')).toThrow(/invalid phone/);
  });
});

describe('parseWebPushSubscription', () => {
  const browserLike = () => ({
    endpoint: 'https://fcm.googleapis.com/fcm/send/abc:def',
    expirationTime: null,
    keys: {
      p256dh: createECDH('prime256v1').generateKeys().toString('base64url'),
      auth: randomBytes(16).toString('base64url'),
    },
  });

  it('accepts what a browser produces, as an object or JSON text', () => {
    const subscription = browserLike();
    expect(parseWebPushSubscription(subscription)).toEqual(subscription);
    expect(parseWebPushSubscription(JSON.stringify(subscription))).toEqual(subscription);
  });

  it('rejects an http endpoint, short keys, a compressed point and non-base64url keys', () => {
    const good = browserLike();
    expect(() => parseWebPushSubscription({ ...good, endpoint: 'http://push.example/x' })).toThrow(
      /endpoint must be an https URL/,
    );
    expect(() =>
      parseWebPushSubscription({ ...good, keys: { ...good.keys, auth: randomBytes(8).toString('base64url') } }),
    ).toThrow(/keys\.auth: keys\.auth must decode to 16 bytes/);
    const compressed = Buffer.from(good.keys.p256dh, 'base64url');
    compressed[0] = 0x02;
    expect(() =>
      parseWebPushSubscription({ ...good, keys: { ...good.keys, p256dh: compressed.toString('base64url') } }),
    ).toThrow(/uncompressed P-256 point/);
    expect(() => parseWebPushSubscription({ ...good, keys: { ...good.keys, p256dh: 'not+base64/url' } })).toThrow(
      /base64url/,
    );
    expect(() => parseWebPushSubscription('{not json')).toThrow(/not JSON/);
  });
});

describe('parseFcmToken', () => {
  it('accepts a token of the usual shape and trims it', () => {
    const token = `dQw4w9WgXcQ:APA91b${'H'.repeat(140)}`;
    expect(parseFcmToken(` ${token}\n`)).toBe(token);
  });

  it('rejects empty, truncated, oversized and garbled tokens', () => {
    expect(() => parseFcmToken('')).toThrow(InvalidContact);
    expect(() => parseFcmToken('abc')).toThrow(/length 3/);
    expect(() => parseFcmToken('a'.repeat(5000))).toThrow(/length 5000/);
    expect(() => parseFcmToken(`${'a'.repeat(100)} ${'b'.repeat(50)}`)).toThrow(/characters outside/);
  });
});
