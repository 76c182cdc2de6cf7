import { generateKeyPairSync } from 'node:crypto';

let cachedKey: string | undefined;

/** A freshly generated RSA key (PKCS#8 PEM), once per test file: no key is ever committed. */
export function testPrivateKey(): string {
  cachedKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return cachedKey;
}

/** A complete, valid settings environment; override or delete entries per test. */
export function validEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    ALTINN_ORG: 'ttd',
    MASKINPORTEN_CLIENT_ID: '2f5a3c1e-8c1d-4a53-9f3c-6f1c2b7d9e01',
    MASKINPORTEN_KEY: testPrivateKey(),
    MASKINPORTEN_KID: 'test-kid-1',
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    ...overrides,
  };
}
