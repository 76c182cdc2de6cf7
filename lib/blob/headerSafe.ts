/**
 * Values a submitter controls (an element's content type and file name) made safe to send as blob headers
 * and metadata: printable ASCII only, bounded in length, so no value can make Node refuse the request
 * (ERR_INVALID_CHAR), push it over Azure's header or 8 KiB metadata limits, or smuggle a control
 * character to whoever reads the blob's properties. The manifest keeps the original values.
 */

/** RFC 9110 §5.6.2 token. */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
/** RFC 9110 §5.6.4 quoted-string, printable ASCII only (no obs-text, no HTAB). */
const QUOTED = '"(?:[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\x20-\\x7e])*"';
/** RFC 9110 §8.3.1 media-type: type "/" subtype *( OWS ";" OWS [ name "=" value ] ), OWS as spaces only. */
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?: *; *(?:${TOKEN}=(?:${TOKEN}|${QUOTED}))?)*$`);

const FALLBACK_CONTENT_TYPE = 'application/octet-stream';
/** Longer content types are not a real media type anyone sends; they only cost header bytes. */
const MAX_CONTENT_TYPE_LENGTH = 256;
/** UTF-8 bytes of a file name or metadata value before encoding (a common file-system name limit); encoded at most 3x. */
export const MAX_VALUE_BYTES = 255;

/** The content type as a header when it is a valid media type in printable ASCII, else application/octet-stream. */
export function headerContentType(value: string | null | undefined): string {
  const v = value?.trim() ?? '';
  return v.length > 0 && v.length <= MAX_CONTENT_TYPE_LENGTH && MEDIA_TYPE.test(v) ? v : FALLBACK_CONTENT_TYPE;
}

/** C0 and C1 controls, DEL, and the bidirectional overrides/isolates that reorder what a terminal shows. */
const CONTROLS = /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** Lone surrogates (which encodeURIComponent refuses) become U+FFFD; with the u flag a pair is one code point and stays. */
function wellFormed(s: string): string {
  return s.replace(/[\uD800-\uDFFF]/gu, '\uFFFD');
}

/** Well-formed, without control characters, at most `maxBytes` of UTF-8 (cut on a code point). */
function cleanValue(value: string, maxBytes = MAX_VALUE_BYTES): string {
  return cutUtf8(wellFormed(value).replace(CONTROLS, ''), maxBytes);
}

function cutUtf8(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s) <= maxBytes) return s;
  let bytes = 0;
  let out = '';
  for (const c of s) {
    bytes += Buffer.byteLength(c);
    if (bytes > maxBytes) break;
    out += c;
  }
  return out;
}

/**
 * A file name fit for Content-Disposition: control characters removed, path separators replaced (RFC 6266
 * §4.3: a recipient must not take a path from it), at most MAX_VALUE_BYTES, its extension kept when cut.
 * Empty when nothing is left.
 */
export function headerFilename(filename: string | null | undefined): string {
  const name = wellFormed(filename ?? '').replace(CONTROLS, '').replace(/[/\\]/g, '_').trim();
  if (Buffer.byteLength(name) <= MAX_VALUE_BYTES) return name;
  const ext = /\.[^.]{1,16}$/.exec(name)?.[0] ?? '';
  return cutUtf8(name.slice(0, name.length - ext.length), MAX_VALUE_BYTES - Buffer.byteLength(ext)) + ext;
}

/** RFC 8187 ext-value characters: encodeURIComponent leaves `'()*` as they are, which attr-char does not allow. */
function encodeExtValue(s: string): string {
  return encodeURIComponent(s).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Always `attachment` (a shared blob never renders inline, whatever its type); with the name when known:
 * `attachment; filename="ascii"; filename*=UTF-8''utf8` (RFC 6266 with RFC 8187), printable ASCII, about 1 KiB at most.
 */
export function contentDisposition(filename: string | null | undefined): string {
  const name = headerFilename(filename);
  if (!name) return 'attachment';
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeExtValue(name)}`;
}

/**
 * A blob metadata value: travels as an HTTP header (printable ASCII; the service trims spaces), so after
 * cleanValue every other character, spaces and `%` are percent-encoded as UTF-8: plain values stay readable
 * and `decodeMetadataValue` restores the cleaned value. At most 3 x MAX_VALUE_BYTES characters.
 */
export function encodeMetadataValue(value: string): string {
  return cleanValue(value).replace(/[^\x21-\x24\x26-\x7e]/gu, (c) => encodeURIComponent(c));
}

export function decodeMetadataValue(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
