export { createTokenProvider, type TokenProvider, type TokenProviderOptions } from './tokenProvider.js';
export { loadSigningKey, type SigningKey, type MaskinportenSettings, type GrantAlg } from './signingKey.js';
export { grantClaims, signGrant, MAX_GRANT_LIFETIME_SECONDS, type GrantClaims } from './grant.js';
export { requestMaskinportenToken, type MaskinportenToken } from './maskinporten.js';
export type { AltinnToken } from './exchange.js';
