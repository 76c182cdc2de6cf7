import type { Env } from '../config.js';

/**
 * The host's storage connection, in either of the forms the Functions host accepts:
 * a connection string in `AzureWebJobsStorage`, or identity-based `AzureWebJobsStorage__*` settings
 * (`__accountName`, or `__blobServiceUri` + `__queueServiceUri`; `__credential`, `__clientId`).
 */
export type StorageConnection =
  | { kind: 'connectionString'; connectionString: string; accountName: string }
  | {
      kind: 'identity';
      accountName: string;
      blobServiceUri: string;
      queueServiceUri: string;
      credential: 'managedidentity' | 'default';
      clientId: string | undefined;
    };

const PREFIX = 'AzureWebJobsStorage';

export function parseStorageConnection(env: Env): StorageConnection {
  const cs = env[PREFIX]?.trim();
  if (cs) {
    if (cs === 'UseDevelopmentStorage=true') {
      return { kind: 'connectionString', connectionString: cs, accountName: 'devstoreaccount1' };
    }
    const parts = new Map(
      cs
        .split(';')
        .filter((p) => p.includes('='))
        .map((p) => [p.slice(0, p.indexOf('=')).trim().toLowerCase(), p.slice(p.indexOf('=') + 1).trim()] as const),
    );
    const accountName = parts.get('accountname');
    if (!accountName || !(parts.get('accountkey') || parts.get('sharedaccesssignature'))) {
      throw new Error(
        'is not a storage connection string (needs AccountName and AccountKey or SharedAccessSignature), nor UseDevelopmentStorage=true',
      );
    }
    return { kind: 'connectionString', connectionString: cs, accountName };
  }
  const get = (k: string) => env[`${PREFIX}__${k}`]?.trim() || undefined;
  const account = get('accountName');
  const blob = get('blobServiceUri');
  const queue = get('queueServiceUri');
  if (!account && !(blob && queue)) {
    throw new Error(
      'is required: a connection string, or identity-based settings AzureWebJobsStorage__accountName (or __blobServiceUri and __queueServiceUri)',
    );
  }
  for (const [name, uri] of [
    ['blobServiceUri', blob],
    ['queueServiceUri', queue],
  ] as const) {
    if (uri && !/^https:\/\/[^/?#@]+\/?$/.test(uri)) throw new Error(`__${name} must be an https service URI without a path`);
  }
  const blobServiceUri = (blob ?? `https://${account}.blob.core.windows.net`).replace(/\/$/, '');
  const queueServiceUri = (queue ?? `https://${account}.queue.core.windows.net`).replace(/\/$/, '');
  const credential = get('credential')?.toLowerCase();
  if (credential && credential !== 'managedidentity') throw new Error('__credential must be "managedidentity" when set');
  return {
    kind: 'identity',
    accountName: account ?? new URL(blobServiceUri).hostname.split('.')[0]!,
    blobServiceUri,
    queueServiceUri,
    credential: credential === 'managedidentity' ? 'managedidentity' : 'default',
    clientId: get('clientId'),
  };
}
