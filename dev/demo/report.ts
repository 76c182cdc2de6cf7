import { table } from '../../cli/table.js';

/** Bytes for people: 912 B, 14.2 KiB, 291.3 MiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let u = 0;
  for (; v >= 1024 && u < units.length - 1; u++) v /= 1024;
  return `${v.toFixed(1)} ${units[u]}`;
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
/** The elapsed-time prefix of every step and progress line. */
export const stamp = (ms: number) => `[${seconds(ms).padStart(7)}]`;

export interface Progress {
  elapsedMs: number;
  confirmed: number;
  instances: number;
  files: number;
  filesTotal: number;
  bytes: number;
  bytesTotal: number;
}

export function progressLine(p: Progress): string {
  const parts = [
    `confirmed ${p.confirmed}/${p.instances}`,
    `files ${p.files}/${p.filesTotal}`,
    `stored ${formatBytes(p.bytes)} of ${formatBytes(p.bytesTotal)}`,
  ];
  return `${stamp(p.elapsedMs)} ${parts.join('  ')}`;
}

export interface Summary {
  instances: number;
  files: number;
  bytes: number;
  confirmed: number;
  viaEvent: number;
  viaReconcile: number;
  elapsedMs: number;
}

export function summaryTable(s: Summary): string {
  return table(
    ['INSTANCES', 'FILES', 'BYTES', 'CONFIRMED', 'VIA EVENT', 'VIA RECONCILE', 'ELAPSED'],
    [[String(s.instances), String(s.files), formatBytes(s.bytes), `${s.confirmed}/${s.instances}`, String(s.viaEvent), String(s.viaReconcile), seconds(s.elapsedMs)]],
  );
}

/** A one-liner that lists the container with the storage SDK (run from the repository, where the SDK is installed). */
export function listBlobsOneLiner(connectionString: string, container: string): string {
  const js =
    `const {BlobServiceClient}=require('@azure/storage-blob');` +
    `(async()=>{for await(const b of BlobServiceClient.fromConnectionString(process.argv[1]).getContainerClient('${container}').listBlobsFlat())` +
    `console.log(String(b.properties.contentLength).padStart(10),b.name)})()`;
  return `node -e "${js}" '${connectionString}'`;
}
