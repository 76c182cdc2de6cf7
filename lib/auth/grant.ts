import { randomUUID } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import type { MaskinportenSettings, SigningKey } from './signingKey.js';

/** Maskinporten refuses grants that live longer than this. */
export const MAX_GRANT_LIFETIME_SECONDS = 120;

/** Exactly the claims Maskinporten asks for; `consumer_org` only when acting as a supplier. */
export interface GrantClaims extends JWTPayload {
  aud: string;
  iss: string;
  scope: string;
  iat: number;
  exp: number;
  jti: string;
  consumer_org?: string;
}

export function grantClaims(settings: Pick<MaskinportenSettings, 'url' | 'clientId' | 'scopes' | 'consumerOrg'>, nowMs: number): GrantClaims {
  const iat = Math.floor(nowMs / 1000);
  return {
    // Maskinporten's issuer identifier ends with a slash; the audience must equal it exactly.
    aud: `${settings.url.replace(/\/+$/, '')}/`,
    iss: settings.clientId,
    scope: settings.scopes.join(' '),
    iat,
    exp: iat + MAX_GRANT_LIFETIME_SECONDS,
    jti: randomUUID(),
    ...(settings.consumerOrg ? { consumer_org: settings.consumerOrg } : {}),
  };
}

/** Sign the claims as given (tests pass altered claims through here to see Maskinporten refuse them). */
export function signGrant(key: SigningKey, claims: JWTPayload): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, ...key.header }).sign(key.privateKey);
}
