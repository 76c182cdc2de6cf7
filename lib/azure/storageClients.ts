import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import type { TokenCredential } from '@azure/identity';
import type { StorageConnection } from './storageConnection.js';

export interface StorageClients {
  blob: BlobServiceClient;
  queue: QueueServiceClient;
}

/** Blob and queue clients from the host's own storage setting, so our code uses the same account and identity. */
export async function createStorageClients(conn: StorageConnection): Promise<StorageClients> {
  if (conn.kind === 'connectionString') {
    return {
      blob: BlobServiceClient.fromConnectionString(conn.connectionString),
      queue: QueueServiceClient.fromConnectionString(conn.connectionString),
    };
  }
  // Loaded only when used: identity pulls in MSAL, which a connection-string deployment never needs.
  const identity = await import('@azure/identity');
  const credential: TokenCredential =
    conn.credential === 'managedidentity'
      ? new identity.ManagedIdentityCredential(conn.clientId ? { clientId: conn.clientId } : {})
      : new identity.DefaultAzureCredential(conn.clientId ? { managedIdentityClientId: conn.clientId } : {});
  return {
    blob: new BlobServiceClient(conn.blobServiceUri, credential),
    queue: new QueueServiceClient(conn.queueServiceUri, credential),
  };
}
