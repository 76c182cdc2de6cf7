/**
 * Last line of defence for anything that leaves the process as text (logs, error bodies, CLI output):
 * JWTs (tokens, assertions), PEM blocks (keys, certificates), tokens and keys in URLs, forms, JSON and
 * headers, SAS signatures, storage account keys, Basic credentials, Norwegian national identity numbers
 * (personal data), and any value registered as secret at start-up.
 */

/** Token-like parameter names: redacted after any separator (query, fragment, form body, a bare SAS `sig=…&se=…`). */
const TOKEN_PARAMS = 'sig|access_token|refresh_token|id_token|assertion|client_assertion|client_secret|password';
/** Header names whose whole value is a credential, in `name: value` text or as a JSON member. */
const SECRET_HEADERS = 'authorization|x-functions-key|x-ms-functions-key|ocp-apim-subscription-key|x-api-key|cookie|set-cookie';

/**
 * [what the lower-cased text must contain for the pattern to apply, pattern, replacement]: the guard is a
 * cheap `includes`, so an ordinary value (an event type, a URL without a query) skips most regexes.
 */
const PATTERNS: [string, RegExp, string][] = [
  ['-----begin', /-----BEGIN [A-Z ]+-----[\s\S]*?(-----END [A-Z ]+-----|$)/g, '[redacted-pem]'],
  ['eyj', /\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g, '[redacted-jwt]'],
  // A function key travels as ?code=; `code` elsewhere is too common a word to take.
  ['code=', /([?&#]code=)[^&\s"']+/gi, '$1[redacted]'],
  ['=', new RegExp(`((?:^|[?&#;,\\s"'=(])(?:${TOKEN_PARAMS})=)[^&\\s"';,]+`, 'gi'), '$1[redacted]'],
  // JSON members (also inside JSON that was itself serialised: escaped quotes), e.g. "access_token":"…".
  ['"', new RegExp(`(\\\\?"(?:${TOKEN_PARAMS}|${SECRET_HEADERS})\\\\?"\\s*:\\s*\\\\?")[^"\\\\]+`, 'gi'), '$1[redacted]'],
  [':', new RegExp(`(\\b(?:${SECRET_HEADERS})\\s*:\\s*)(?!\\\\?")[^\\r\\n"',;]+`, 'gi'), '$1[redacted]'],
  ['key=', /(AccountKey=|SharedAccessKey=)[^;\s"']+/gi, '$1[redacted]'],
  // Private members of a JWK, also inside JSON that was itself serialised (escaped quotes).
  ['"', /(\\?"(?:d|p|q|dp|dq|qi|k)\\?"\s*:\s*\\?")[^"\\]+/g, '$1[redacted]'],
  ['bearer', /(\bBearer\s+)(?!\[redacted)[\w.~+/=-]+/gi, '$1[redacted]'],
  // Basic credentials are base64; case-sensitive and 6+ characters so that "basic settings" stays.
  ['basic', /(\bBasic\s+)[A-Za-z0-9+/]{6,}={0,2}/g, '$1[redacted]'],
];

/** Eleven digits, alone or as `ddmmyy nnnnn`: a fødselsnummer (or D-/H-/synthetic number) if its check digits say so. */
const IDENTITY_NUMBER = /\b(\d{6}) ?(\d{5})\b/g;
const K1 = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const K2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

function checkDigit(digits: readonly number[], weights: readonly number[]): number {
  const r = 11 - (weights.reduce((sum, w, i) => sum + w * (digits[i] ?? 0), 0) % 11);
  return r === 11 ? 0 : r;
}

/**
 * Both mod-11 check digits of a Norwegian national identity number: 1 in about 120 arbitrary 11-digit
 * numbers passes, so byte counts or timestamps are rarely caught, and partyIds (int32, at most 10 digits),
 * org numbers (9) and GUIDs never are.
 */
export function isIdentityNumber(eleven: string): boolean {
  if (!/^\d{11}$/.test(eleven)) return false;
  const d = [...eleven].map(Number);
  return checkDigit(d, K1) === d[9] && checkDigit(d, K2) === d[10];
}

/** Field or header names whose value is a secret whatever it looks like (a headers object, a parsed form). */
const SECRET_NAME = new RegExp(`^(?:${TOKEN_PARAMS}|${SECRET_HEADERS}|proxy-authorization|token|accountkey|sharedaccesssignature)$`, 'i');

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

const registered = new Set<string>();

/** Register a secret value (a key, a token) so it is scrubbed even where no pattern would catch it. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 8) registered.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const s of registered) if (out.includes(s)) out = out.split(s).join('[redacted]');
  const lower = out.toLowerCase();
  for (const [guard, re, repl] of PATTERNS) if (lower.includes(guard)) out = out.replace(re, repl);
  if (!/\d{5}/.test(out)) return out;
  return out.replace(IDENTITY_NUMBER, (m: string, a: string, b: string) => (isIdentityNumber(a + b) ? '[redacted-fnr]' : m));
}

/** Results of redact() for strings seen before, while no secret was registered since (the set only grows). */
const remembered = new Map<string, string>();
let rememberedWith = 0;
const REMEMBER_AT_MOST = 1024;
const REMEMBER_LENGTH = 128;

/**
 * redact() for log field values, which mostly repeat (levels, messages, decisions, event types, app and
 * function names): the same output, looked up instead of scanned again. Forgotten whenever a secret is
 * registered, and all at once when full (unique values such as ids would otherwise crowd it).
 */
export function redactValue(text: string): string {
  if (text.length > REMEMBER_LENGTH) return redact(text);
  if (registered.size !== rememberedWith || remembered.size >= REMEMBER_AT_MOST) {
    remembered.clear();
    rememberedWith = registered.size;
  }
  let out = remembered.get(text);
  if (out === undefined) remembered.set(text, (out = redact(text)));
  return out;
}
