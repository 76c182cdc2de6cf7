/**
 * Last line of defence for anything that leaves the process as text (logs, error bodies, CLI output):
 * JWTs (tokens, assertions), PEM blocks (keys, certificates), function keys and SAS signatures in URLs,
 * storage account keys, and any value registered as secret at start-up.
 */
const PATTERNS: [RegExp, string][] = [
  [/-----BEGIN [A-Z ]+-----[\s\S]*?(-----END [A-Z ]+-----|$)/g, '[redacted-pem]'],
  [/\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g, '[redacted-jwt]'],
  [/([?&](?:code|sig|access_token|assertion|client_secret)=)[^&\s"']+/gi, '$1[redacted]'],
  [/(AccountKey=)[^;\s"']+/gi, '$1[redacted]'],
  // Private members of a JWK, also inside JSON that was itself serialised (escaped quotes).
  [/(\\?"(?:d|p|q|dp|dq|qi|k)\\?"\s*:\s*\\?")[^"\\]+/g, '$1[redacted]'],
  [/(Bearer\s+)[\w.~+/=-]+/gi, '$1[redacted]'],
];

const registered = new Set<string>();

/** Register a secret value (a key, a token) so it is scrubbed even where no pattern would catch it. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 8) registered.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const s of registered) if (out.includes(s)) out = out.split(s).join('[redacted]');
  for (const [re, repl] of PATTERNS) out = out.replace(re, repl);
  return out;
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
