import type { Term } from '../domain/fact.js';

/**
 * Order-preserving text encoding of terms. Within one type, the byte order of the encoding is
 * the natural order of the values (numbers numerically, strings by code point), and types sort
 * apart: null < false < true < numbers < strings. Encoded terms never contain SEP, so keys made
 * of SEP-terminated components compare component by component.
 */
export const SEP = '\x00';
const ESC = '\x01';

const TAG_NULL = 'a';
const TAG_FALSE = 'b';
const TAG_TRUE = 'c';
const TAG_NUMBER = 'd';
const TAG_STRING = 'e';

/** Escape SEP and ESC so that a string component never contains SEP and keeps its order. */
export function escapeText(text: string): string {
  if (!text.includes(SEP) && !text.includes(ESC)) return text;
  return text.replaceAll(ESC, ESC + '\x02').replaceAll(SEP, ESC + ESC);
}

export function unescapeText(text: string): string {
  if (!text.includes(ESC)) return text;
  return text.replaceAll(ESC + ESC, SEP).replaceAll(ESC + '\x02', ESC);
}

const scratch = new DataView(new ArrayBuffer(8));
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** IEEE-754 bits made unsigned-comparable: flip the sign bit of positives, all bits of negatives. */
function encodeNumber(value: number): string {
  scratch.setFloat64(0, value === 0 ? 0 : value); // -0 and 0 are one term
  const negative = (scratch.getUint8(0) & 0x80) !== 0;
  let out = TAG_NUMBER;
  for (let i = 0; i < 8; i++) {
    const byte = scratch.getUint8(i);
    out += HEX[negative ? byte ^ 0xff : i === 0 ? byte ^ 0x80 : byte];
  }
  return out;
}

function decodeNumber(hex: string): number {
  const negative = Number.parseInt(hex.slice(0, 2), 16) < 0x80;
  for (let i = 0; i < 8; i++) {
    const byte = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    scratch.setUint8(i, negative ? byte ^ 0xff : i === 0 ? byte ^ 0x80 : byte);
  }
  return scratch.getFloat64(0);
}

export function encodeTerm(term: Term): string {
  switch (typeof term) {
    case 'string':
      return TAG_STRING + escapeText(term);
    case 'number':
      return encodeNumber(term);
    case 'boolean':
      return term ? TAG_TRUE : TAG_FALSE;
    default:
      if (term === null) return TAG_NULL;
      throw new TypeError(`not a term: ${String(term)}`);
  }
}

export function decodeTerm(encoded: string): Term {
  const tag = encoded[0];
  switch (tag) {
    case TAG_STRING:
      return unescapeText(encoded.slice(1));
    case TAG_NUMBER:
      return decodeNumber(encoded.slice(1));
    case TAG_TRUE:
      return true;
    case TAG_FALSE:
      return false;
    case TAG_NULL:
      return null;
    default:
      throw new TypeError(`corrupt term encoding: ${JSON.stringify(encoded)}`);
  }
}

/** Smallest encoding of any number and the first encoding past every number: bounds for range scans. */
export const NUMBER_LOWER = TAG_NUMBER;
export const NUMBER_UPPER = String.fromCharCode(TAG_NUMBER.charCodeAt(0) + 1);
export const STRING_LOWER = TAG_STRING;
export const STRING_UPPER = String.fromCharCode(TAG_STRING.charCodeAt(0) + 1);
