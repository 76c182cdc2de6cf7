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
