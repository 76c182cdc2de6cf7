import { randomBytes } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { inject } from 'vitest';

/** The connection string of the run's Azurite (started by test/globalSetup.ts). */
export function azuriteConnectionString(): string {
  return inject('azurite').connectionString;
}

/** A fresh, uniquely named name for a queue or container, so tests never see each other's data. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`.toLowerCase();
}

export function storageClients(connectionString = azuriteConnectionString()) {
  return {
    blob: BlobServiceClient.fromConnectionString(connectionString),
    queue: QueueServiceClient.fromConnectionString(connectionString),
  };
}

export async function freshContainer(prefix = 'c') {
  const client = storageClients().blob.getContainerClient(uniqueName(prefix));
  await client.create();
  return client;
}
