import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  contentDisposition,
  decodeMetadataValue,
  encodeMetadataValue,
  headerContentType,
  headerFilename,
  MAX_VALUE_BYTES,
} from '../lib/blob/headerSafe.js';

const PRINTABLE = /^[\x20-\x7e]*$/;
/** Anything a submitter could type, and the characters that break headers and terminals. */
const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 4096 }),
  fc.string({ unit: fc.constantFrom('\r', '\n', '\u0000', '\u001b[2J', '../', '"', '\\', 'æ', '日', '\u202e', '\uD800', ';', '=', '%', ' '), maxLength: 600 }),
);

describe('header-safe values (lib/blob/headerSafe.ts)', () => {
  it('keeps valid media types and replaces everything else by application/octet-stream', () => {
    for (const ok of ['application/pdf', 'text/plain; charset=utf-8', 'multipart/form-data;boundary="a b;c"', 'image/svg+xml', 'application/vnd.ms-excel'])
      expect(headerContentType(ok)).toBe(ok);
    for (const bad of ['pdf', 'application/pdf\r\nx-evil: 1', 'text/plæin', 'a/b; c', 'a/b; c="unterminated', '', null, undefined, `a/${'b'.repeat(300)}`])
      expect(headerContentType(bad)).toBe('application/octet-stream');
  });

  it('any content type becomes printable ASCII of at most 256 characters', () => {
    fc.assert(fc.property(hostile, (v) => {
      const h = headerContentType(v);
      expect(h).toMatch(PRINTABLE);
      expect(h.length).toBeLessThanOrEqual(256);
    }), { numRuns: 300 });
  });

  it('any file name gives a printable-ASCII Content-Disposition of bounded size, without a path or a control character', () => {
    fc.assert(fc.property(hostile, (name) => {
      const cd = contentDisposition(name);
      expect(cd).toMatch(PRINTABLE);
      expect(cd.length).toBeLessThanOrEqual(40 + 4 * MAX_VALUE_BYTES);
      const safe = headerFilename(name);
      expect(safe).not.toMatch(/[\p{Cc}/\\\u202e]/u);
      expect(Buffer.byteLength(safe)).toBeLessThanOrEqual(MAX_VALUE_BYTES);
      // RFC 8187: only attr-char and %XX after UTF-8''.
      const ext = /filename\*=UTF-8''(.*)$/.exec(cd)?.[1];
      if (safe) expect(ext).toMatch(/^(?:[A-Za-z0-9!#$&+.^_`|~-]|%[0-9A-F]{2})+$/);
      if (safe) expect(decodeURIComponent(ext ?? '')).toBe(safe);
    }), { numRuns: 300 });
  });

  it('a long name is cut on a code point and keeps its extension', () => {
    const cut = headerFilename(`${'æ'.repeat(1300)}.pdf`);
    expect(cut.endsWith('æ.pdf')).toBe(true);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(MAX_VALUE_BYTES);
    expect(contentDisposition("it's (1)*.pdf")).toBe(`attachment; filename="it's (1)*.pdf"; filename*=UTF-8''it%27s%20%281%29%2A.pdf`);
  });

  it('any metadata value encodes to at most 3 x 255 printable characters and decodes to its cleaned self', () => {
    fc.assert(fc.property(hostile, (v) => {
      const encoded = encodeMetadataValue(v);
      expect(encoded).toMatch(/^[\x21-\x7e]*$/);
      expect(encoded.length).toBeLessThanOrEqual(3 * MAX_VALUE_BYTES);
      expect(decodeMetadataValue(encoded)).not.toMatch(/\p{Cc}/u);
    }), { numRuns: 300 });
  });
});
