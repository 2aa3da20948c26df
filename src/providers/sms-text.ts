import { SegmentedMessage } from 'sms-segments-calculator';

/** How a text travels: the GSM 03.38 7-bit alphabet, or UCS-2 as soon as one character is outside it. */
export type SmsEncoding = 'GSM-7' | 'UCS-2';

/** What a text costs: its encoding and the number of segments (each billed as one SMS). */
export interface SmsSegments {
  encoding: SmsEncoding;
  segments: number;
  /** Characters as the encoding counts them: GSM-7 extension characters (`€ [ ] { } ^ ~ \ |`) count twice. */
  units: number;
}

/**
 * Counts segments with Twilio's `sms-segments-calculator` (the calculator behind Twilio's own segment tool): GSM-7
 * carries 160 characters in one segment and 153 per segment once concatenated; UCS-2 carries 70 and 67, and an
 * emoji outside the Basic Multilingual Plane takes two of those.
 */
export function countSegments(text: string): SmsSegments {
  const message = new SegmentedMessage(text);
  // The library counts graphemes for UCS-2; the network counts UTF-16 code units (a surrogate pair is two).
  const units = message.encodingName === 'GSM-7' ? message.numberOfCharacters : text.length;
  return { encoding: message.encodingName, segments: message.segmentsCount, units };
}

/**
 * Cuts `text` so that it fits in `maxSegments`, ending it with an ellipsis when cut. A GSM-7 text is ended with
 * three dots, since `…` is not in GSM-7 and would turn the whole message into UCS-2 (less than half the room).
 * Cuts fall between graphemes, so an emoji or an accented letter is never split.
 */
export function fitToSegments(text: string, maxSegments: number): string {
  if (!Number.isInteger(maxSegments) || maxSegments < 1) throw new RangeError('maxSegments must be a positive integer');
  if (countSegments(text).segments <= maxSegments) return text;
  const graphemes = [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text)].map((s) => s.segment);
  const cut = (length: number) => {
    const head = graphemes.slice(0, length).join('').trimEnd();
    return head + (countSegments(head).encoding === 'GSM-7' ? '...' : '…');
  };
  // The segment count only grows with the length, so the longest prefix that fits is found by bisection.
  let fits = 0;
  let tooLong = graphemes.length;
  while (tooLong - fits > 1) {
    const middle = Math.floor((fits + tooLong) / 2);
    if (countSegments(cut(middle)).segments <= maxSegments) fits = middle;
    else tooLong = middle;
  }
  return cut(fits);
}
