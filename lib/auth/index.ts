export { createTokenProvider, type TokenProvider, type TokenProviderOptions } from './tokenProvider.js';
export { loadSigningKey, type SigningKey, type MaskinportenSettings, type GrantAlg } from './signingKey.js';
export { grantClaims, signGrant, MAX_GRANT_LIFETIME_SECONDS, type GrantClaims } from './grant.js';
export { requestMaskinportenToken, JWT_BEARER_GRANT, type MaskinportenToken } from './maskinporten.js';
export { exchangeForAltinnToken, type AltinnToken } from './exchange.js';
