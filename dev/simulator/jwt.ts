import { randomUUID, sign, verify, type KeyObject } from 'node:crypto';

/** The JWS algorithms Maskinporten accepts for grants (RSA PKCS#1 v1.5). */
const RSA_ALGS = { RS256: 'sha256', RS384: 'sha384', RS512: 'sha512' } as const;
export type RsaAlg = keyof typeof RSA_ALGS;

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

const b64url = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');

function parsePart(part: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Splits a compact JWS; undefined when it is not one. Does not verify anything. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[\w-]*$/.test(p))) return undefined;
  const [h, p, s] = parts as [string, string, string];
  const header = parsePart(h);
  const payload = parsePart(p);
  if (!header || !payload) return undefined;
  return { header, payload, signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url') };
}

export function isRsaAlg(alg: unknown): alg is RsaAlg {
  return typeof alg === 'string' && Object.hasOwn(RSA_ALGS, alg);
}

export function verifyJwtSignature(jwt: DecodedJwt, key: KeyObject): boolean {
  const alg = jwt.header.alg;
  if (!isRsaAlg(alg)) return false;
  try {
    return verify(RSA_ALGS[alg], Buffer.from(jwt.signingInput), key, jwt.signature);
  } catch {
    return false;
  }
}

/** The claims of a token signed with `key` by `issuer` that has not expired at `nowSeconds`; undefined otherwise. */
export function verifyIssuedJwt<T>(token: string, key: KeyObject, issuer: string, nowSeconds: number): T | undefined {
  const jwt = decodeJwt(token);
  if (!jwt || !verifyJwtSignature(jwt, key)) return undefined;
  const c = jwt.payload as { iss?: unknown; exp?: unknown };
  if (c.iss !== issuer || typeof c.exp !== 'number' || c.exp <= nowSeconds) return undefined;
  return c as T;
}

export function signJwt(payload: Record<string, unknown>, key: KeyObject, header: Record<string, unknown> = {}, alg: RsaAlg = 'RS256'): string {
  const input = `${b64url({ alg, typ: 'JWT', ...header })}.${b64url(payload)}`;
  return `${input}.${sign(RSA_ALGS[alg], Buffer.from(input), key).toString('base64url')}`;
}

export const newJti = (): string => randomUUID();
