import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { ConfigError, type Config } from '../config.js';

export type MaskinportenSettings = Config['maskinporten'];
export type GrantAlg = MaskinportenSettings['alg'];

/** The private key plus the JWS header that identifies it to Maskinporten: `kid`, or the `x5c` chain. */
export interface SigningKey {
  privateKey: KeyObject;
  alg: GrantAlg;
  header: { kid: string } | { x5c: string[] };
}

const MIN_RSA_BITS = 2048;

/**
 * Parse and check MASKINPORTEN_KEY (+ KID or CERTIFICATE) once, at start-up, so a wrong key fails
 * with a message naming the setting instead of as a Maskinporten refusal at the first event.
 * Messages never quote the key or the certificate.
 */
export function loadSigningKey(settings: Pick<MaskinportenSettings, 'key' | 'kid' | 'certificate' | 'alg'>): SigningKey {
  const privateKey = parsePrivateKey(settings.key);
  if (privateKey.asymmetricKeyType !== 'rsa') {
    fail('MASKINPORTEN_KEY', `must be an RSA private key for ${settings.alg} (got ${privateKey.asymmetricKeyType ?? 'unknown'})`);
  }
  const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) fail('MASKINPORTEN_KEY', `must be an RSA key of at least ${MIN_RSA_BITS} bits (got ${bits})`);

  if (settings.certificate) {
    const chain = parseChain(settings.certificate);
    const leaf = chain[0];
    if (!leaf) fail('MASKINPORTEN_CERTIFICATE', 'holds no certificate');
    if (!leaf.checkPrivateKey(privateKey)) {
      fail('MASKINPORTEN_CERTIFICATE', 'the first (leaf) certificate does not belong to MASKINPORTEN_KEY: put the certificate of this key first');
    }
    return { privateKey, alg: settings.alg, header: { x5c: chain.map((c) => c.raw.toString('base64')) } };
  }
  if (!settings.kid) fail('MASKINPORTEN_KID', 'set MASKINPORTEN_KID or MASKINPORTEN_CERTIFICATE');
  return { privateKey, alg: settings.alg, header: { kid: settings.kid } };
}

/** PKCS#8 PEM, PKCS#1 PEM (which jose's importPKCS8 refuses) or a private JWK: node:crypto reads all three. */
function parsePrivateKey(raw: string): KeyObject {
  const text = raw.trim();
  try {
    if (text.startsWith('{')) {
      const jwk = JSON.parse(text) as Record<string, unknown>;
      if (jwk.d === undefined) fail('MASKINPORTEN_KEY', 'is a public JWK: the private key (with "d") is needed');
      return createPrivateKey({ key: jwk, format: 'jwk' });
    }
    return createPrivateKey({ key: text, format: 'pem' });
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    // The parser's own message is generic ("unsupported", "bad decrypt"); it never echoes the key, but stay safe.
    fail('MASKINPORTEN_KEY', 'could not be read as a PEM (PKCS#8 or PKCS#1) or JWK private key, or is encrypted');
  }
}

function parseChain(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch {
      fail('MASKINPORTEN_CERTIFICATE', `certificate ${i + 1} of the chain could not be read`);
    }
  });
}

function fail(setting: string, message: string): never {
  throw new ConfigError([{ setting, message }]);
}
