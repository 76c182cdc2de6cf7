import { execFile } from 'node:child_process';
import { X509Certificate, createPublicKey, generateKeyPair, randomUUID, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const generateRsa = promisify(generateKeyPair);

export const DEFAULT_CLIENT_SCOPES = [
  'altinn:serviceowner/instances.read',
  'altinn:serviceowner/instances.write',
  'altinn:events.subscribe',
];

export interface NewClientOptions {
  /** Scopes the client may request (default: instances.read, instances.write, altinn:events.subscribe). */
  scopes?: string[];
  /** How `privateKey` is encoded (default pkcs8 PEM). */
  keyFormat?: 'pkcs8' | 'pkcs1' | 'jwk';
  /** Register a certificate (x5c) client instead of a kid/JWK client. */
  certificate?: boolean;
  /** Organisation number the client acts for as a supplier (`consumer_org`); the simulated org's is `sim.orgNumber`. */
  consumerOrg?: string;
}

/** A client as Maskinporten's registry knows it. */
export interface RegisteredClient {
  clientId: string;
  scopes: Set<string>;
  /** The organisation owning the client (the consumer when no consumer_org is used). */
  orgNumber: string;
  /** Orgs that delegated access to this client (consumer_org values it may use). */
  delegations: Set<string>;
  keys: Map<string, KeyObject>;
  /** Certificate clients: the CA their x5c chain must lead to. */
  trustedCa?: X509Certificate;
}

export interface ClientCredentials {
  clientId: string;
  kid?: string;
  /** The private key in the requested format (PEM, or JWK JSON). Generated, never stored on disk. */
  privateKey: string;
  /** PEM chain, leaf first, then the CA (certificate clients). */
  certificate?: string;
}

function encodeKey(key: KeyObject, format: NonNullable<NewClientOptions['keyFormat']>, kid: string | undefined): string {
  if (format === 'jwk') return JSON.stringify({ ...key.export({ format: 'jwk' }), ...(kid ? { kid } : {}), alg: 'RS256', use: 'sig' });
  return key.export({ type: format, format: 'pem' }).toString();
}

/** A CA and a leaf it signs, made with the openssl CLI (Node has no certificate builder). */
async function certificateChain(leafKey: KeyObject, clientId: string, orgNumber: string): Promise<{ chainPem: string; ca: X509Certificate }> {
  const dir = await mkdtemp(join(tmpdir(), 'altinn-sim-cert-'));
  try {
    const ca = await generateRsa('rsa', { modulusLength: 2048 });
    const f = (n: string) => join(dir, n);
    await writeFile(f('ca.key'), ca.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await writeFile(f('leaf.key'), leafKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await writeFile(f('leaf.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n');
    await run('openssl', ['req', '-x509', '-new', '-key', f('ca.key'), '-out', f('ca.pem'), '-days', '30', '-subj', '/CN=Altinn Simulator Test CA/O=Simulator',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    await run('openssl', ['req', '-new', '-key', f('leaf.key'), '-out', f('leaf.csr'), '-subj', `/CN=${clientId}/O=Simulated Supplier/serialNumber=${orgNumber}`]);
    await run('openssl', ['x509', '-req', '-in', f('leaf.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-set_serial', `0x${randomUUID().replaceAll('-', '')}`,
      '-days', '30', '-extfile', f('leaf.ext'), '-out', f('leaf.pem')]);
    const [leafPem, caPem] = await Promise.all([readFile(f('leaf.pem'), 'utf8'), readFile(f('ca.pem'), 'utf8')]);
    return { chainPem: leafPem.trim() + '\n' + caPem.trim() + '\n', ca: new X509Certificate(caPem) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Generates keys (and a certificate chain on request) and the registry entry for a new client. */
export async function createClient(opts: NewClientOptions, orgNumber: string): Promise<{ registered: RegisteredClient; credentials: ClientCredentials }> {
  const clientId = randomUUID();
  const { privateKey, publicKey } = await generateRsa('rsa', { modulusLength: 2048 });
  const owner = opts.consumerOrg ? '999999999' : orgNumber;
  const registered: RegisteredClient = {
    clientId,
    scopes: new Set(opts.scopes ?? DEFAULT_CLIENT_SCOPES),
    orgNumber: owner,
    delegations: new Set(opts.consumerOrg ? [opts.consumerOrg] : []),
    keys: new Map(),
  };
  if (opts.certificate) {
    const { chainPem, ca } = await certificateChain(privateKey, clientId, owner);
    registered.trustedCa = ca;
    return { registered, credentials: { clientId, privateKey: encodeKey(privateKey, opts.keyFormat ?? 'pkcs8', undefined), certificate: chainPem } };
  }
  const kid = `sim-${clientId.slice(0, 8)}`;
  registered.keys.set(kid, createPublicKey(publicKey.export({ type: 'spki', format: 'pem' })));
  return { registered, credentials: { clientId, kid, privateKey: encodeKey(privateKey, opts.keyFormat ?? 'pkcs8', kid) } };
}
