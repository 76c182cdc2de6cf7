import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import type { TokenCredential } from '@azure/identity';
import type { StorageConnection } from './storageConnection.js';
import { AZURE_RETRY_OPTIONS } from './call.js';

/** The SDK's retry settings (StorageRetryOptions); tests shorten the waits. */
export interface StorageRetrySettings {
  maxTries: number;
  retryDelayInMs: number;
  maxRetryDelayInMs: number;
}

export interface StorageClients {
  blob: BlobServiceClient;
  queue: QueueServiceClient;
}

/** Blob and queue clients from the host's own storage setting, so our code uses the same account and identity. */
export async function createStorageClients(conn: StorageConnection, retry: StorageRetrySettings = AZURE_RETRY_OPTIONS): Promise<StorageClients> {
  const options = { retryOptions: retry };
  if (conn.kind === 'connectionString') {
    return {
      blob: BlobServiceClient.fromConnectionString(conn.connectionString, options),
      queue: QueueServiceClient.fromConnectionString(conn.connectionString, options),
    };
  }
  // Loaded only when used: identity pulls in MSAL, which a connection-string deployment never needs.
  const identity = await import('@azure/identity');
  const credential: TokenCredential =
    conn.credential === 'managedidentity'
      ? new identity.ManagedIdentityCredential(conn.clientId ? { clientId: conn.clientId } : {})
      : new identity.DefaultAzureCredential(conn.clientId ? { managedIdentityClientId: conn.clientId } : {});
  return {
    blob: new BlobServiceClient(conn.blobServiceUri, credential, options),
    queue: new QueueServiceClient(conn.queueServiceUri, credential, options),
  };
}
