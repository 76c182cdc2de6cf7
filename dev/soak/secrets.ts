/**
 * Secret hygiene: scans captured output (log lines, CLI output, error messages) for what must never
 * appear there. Known secrets are searched verbatim and in pieces (a PEM body's base64 lines, slices
 * of a key), and every JWT-shaped string counts: grant assertions and access tokens are JWTs.
 */
export interface SecretHit {
  /** What was found (never the secret itself). */
  kind: string;
  /** Where: the source's name and line number. */
  where: string;
}

export interface Secrets {
  /** PEM private keys (or JWK JSON): the whole text, each base64 line of the body, and slices of it. */
  privateKeys: string[];
  /** Function keys, passwords: searched verbatim. */
  values: { kind: string; value: string }[];
}

const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/;
const PEM_PRIVATE = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
const BEARER = /\bBearer\s+[A-Za-z0-9._~+/-]{16,}/i;
/** Slices of a key body this long cannot occur by chance in a log; overlapping, so any fragment of SLICE + STEP characters contains one. */
const SLICE = 24;
const STEP = 12;

function keyPieces(key: string): string[] {
  const body = key
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('-----'));
  const joined = body.join('');
  const pieces = new Set(body.filter((l) => l.length >= SLICE));
  for (let i = 0; i + SLICE <= joined.length; i += STEP) pieces.add(joined.slice(i, i + SLICE));
  // A JWK's private parts ("d", "p", "q", …) when the key is JSON.
  for (const m of key.matchAll(/"(?:d|p|q|dp|dq|qi)"\s*:\s*"([A-Za-z0-9_-]{16,})"/g)) pieces.add(m[1]!);
  return [...pieces];
}

export function scanForSecrets(sources: Record<string, readonly string[]>, secrets: Secrets): SecretHit[] {
  const pieces = secrets.privateKeys.flatMap(keyPieces);
  const values = secrets.values.filter((v) => v.value.length >= 8);
  const hits: SecretHit[] = [];
  for (const [name, lines] of Object.entries(sources)) {
    lines.forEach((line, i) => {
      const where = `${name}:${i + 1}`;
      if (JWT.test(line)) hits.push({ kind: 'JWT (assertion or token)', where });
      if (PEM_PRIVATE.test(line)) hits.push({ kind: 'PEM private key header', where });
      if (BEARER.test(line)) hits.push({ kind: 'bearer credential', where });
      if (pieces.some((p) => line.includes(p))) hits.push({ kind: 'private key material', where });
      for (const v of values) if (line.includes(v.value) || line.includes(encodeURIComponent(v.value))) hits.push({ kind: v.kind, where });
    });
  }
  return hits;
}
