import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type InstanceDoc, type Simulator } from '../dev/simulator/index.js';
import { ALTINN_DOCS, altinnDocsPresent, FIXTURES, needsAltinnDocs } from './support/fixtures.js';

const SPECS = {
  app: join(ALTINN_DOCS, 'app-lib-dotnet/test/Altinn.App.Api.Tests/OpenApi/OpenApiSpecChangeDetection.SaveJsonSwagger.verified.json'),
  storage: join(ALTINN_DOCS, 'altinn-studio-docs/static/swagger/altinn-platform-storage-v1.json'),
  events: join(ALTINN_DOCS, 'altinn-studio-docs/static/swagger/altinn-platform-events-v1.json'),
  authentication: join(ALTINN_DOCS, 'altinn-studio-docs/static/swagger/altinn-platform-authentication-v1.json'),
};
type SpecName = keyof typeof SPECS;
/** Instance documents in the `{org}/{app}/{partyId}/{guid}.json` layout: Altinn's app-lib test data, and ours. */
const INSTANCE_TREES = [join(ALTINN_DOCS, 'app-lib-dotnet/test/Altinn.App.Api.Tests/Data/Instances'), join(FIXTURES, 'instances')];

/** OpenAPI 3.0 schemas under ajv: `nullable` is understood, `example` and .NET formats are tolerated. */
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats.default(ajv);
for (const f of ['int32', 'int64', 'double', 'float']) ajv.addFormat(f, true);

interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: object }> }>;
}
type Spec = { paths: Record<string, Record<string, Operation>>; components: object };
const specs = {} as Record<SpecName, Spec>;
const base = (name: SpecName) => `https://specs.test/${name}`;

/** Validates a response body against the schema its spec declares for path + method + status. */
async function check(spec: SpecName, path: string, res: Response): Promise<unknown> {
  const method = (res as Response & { method?: string }).method ?? 'get';
  const response = specs[spec].paths[path]?.[method]?.responses[String(res.status)];
  expect(response, `${spec} spec declares ${res.status} for ${method.toUpperCase()} ${path}`).toBeDefined();
  const content = response!.content?.['application/json'] ?? response!.content?.['text/plain'];
  expect(content?.schema, `schema for ${res.status} ${method.toUpperCase()} ${path}`).toBeDefined();
  const text = await res.text();
  const body: unknown = /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : text;
  // Refs in a spec point into its own document; the spec's components are registered under base(spec).
  const schema = JSON.parse(JSON.stringify(content!.schema).replaceAll('"#/components/', `"${base(spec)}#/components/`)) as object;
  const validate = ajv.compile(schema);
  expect(validate(body) ? [] : validate.errors, `${spec} ${method.toUpperCase()} ${path} ${res.status}`).toEqual([]);
  return body;
}

async function call(url: string, token: string | undefined, init: { method?: string; body?: unknown } = {}): Promise<Response> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  return Object.assign(res, { method: (init.method ?? 'get').toLowerCase() });
}

let sim: Simulator;
let token: string;
/** Loads the specs once, only where Altinn's documents are (see the describe blocks' names). */
let specsLoaded: Promise<void> | undefined;
const loadSpecs = () => (specsLoaded ??= (async () => {
  for (const [name, file] of Object.entries(SPECS) as [SpecName, string][]) {
    const spec = JSON.parse(await readFile(file, 'utf8')) as Spec;
    specs[name] = spec;
    // OpenAPI 3.0 cannot mark a $ref nullable, yet the .NET APIs write null for such properties
    // (see the raw App API dump in the fixtures: substatus, validated, deleteStatus): let object schemas be null.
    for (const schema of Object.values((spec.components as { schemas: Record<string, { type?: string; nullable?: boolean }> }).schemas)) {
      if (schema.type === 'object') schema.nullable = true;
    }
    ajv.addSchema({ $id: base(name), components: spec.components });
  }
})());

const INSTANCE = '/{org}/{app}/instances/{instanceOwnerPartyId}/{instanceGuid}';
const S_INSTANCE = '/instances/{instanceOwnerPartyId}/{instanceGuid}';

describe.runIf(altinnDocsPresent)(needsAltinnDocs('simulator responses match the OpenAPI specs'), () => {
  beforeAll(async () => {
    await loadSpecs();
    sim = await startSimulator({ port: 0 });
    token = sim.altinnToken();
  });
  afterAll(() => sim.stop());

  it('App API: instance, complete, substatus (and a 400), data headers', async () => {
    const doc = await sim.seedInstance({
      app: 'contract',
      completed: true,
      elements: [{ dataType: 'ref', contentType: 'application/pdf', filename: 'a.pdf', size: 10, withContentHash: true, fileScanResult: 'Clean' }],
    });
    const url = `${sim.appsUrl}/${doc.appId}/instances/${doc.id}`;
    await check('app', INSTANCE, await call(url, token));
    await check('app', `${INSTANCE}/substatus`, await call(`${url}/substatus`, token, { method: 'PUT', body: { label: 'x', description: 'y' } }));
    await check('app', `${INSTANCE}/substatus`, await call(`${url}/substatus`, token, { method: 'PUT', body: {} }));
    await check('app', `${INSTANCE}/complete`, await call(`${url}/complete`, token, { method: 'POST' }));
    const data = await call(`${url}/data/${doc.data[0]!.id}`, token);
    expect([data.status, data.headers.get('content-type'), data.headers.get('content-length')]).toEqual([200, 'application/pdf', '10']);
    await data.arrayBuffer();
  });

  it('Storage API: instance, query, complete, 404 and 400', async () => {
    const doc = await sim.seedInstance({ app: 'contract', completed: true, elements: [{ dataType: 'ref', contentType: 'text/xml', size: 3 }] });
    const url = `${sim.platformUrl}/storage/api/v1/instances/${doc.id}`;
    await check('storage', S_INSTANCE, await call(url, token));
    await check('storage', `${S_INSTANCE}/complete`, await call(`${url}/complete`, token, { method: 'POST' }));
    await check('storage', S_INSTANCE, await call(`${sim.platformUrl}/storage/api/v1/instances/1/${doc.id.split('/')[1]}`, token));
    const q = `${sim.platformUrl}/storage/api/v1/instances`;
    const page = (await check('storage', '/instances', await call(`${q}?org=ttd&size=1&process.isComplete=true`, token))) as { next: string };
    await check('storage', '/instances', await call(page.next, token));
    await check('storage', '/instances', await call(`${q}?org=ttd&size=zero`, token));
  });

  it('Events API: create, list, get, 400 and 404', async () => {
    const endPoint = 'https://receiver.example.com/api/events?code=k';
    const s = `${sim.platformUrl}/events/api/v1/subscriptions`;
    const created = (await check('events', '/subscriptions', await call(s, token, { method: 'POST', body: { endPoint, sourceFilter: `${sim.appsUrl}/ttd/contract` } }))) as { id: number };
    await check('events', '/subscriptions', await call(s, token, { method: 'POST', body: { endPoint: 'ftp://x', sourceFilter: `${sim.appsUrl}/ttd/contract` } }));
    await check('events', '/subscriptions', await call(s, token));
    await check('events', '/subscriptions/{id}', await call(`${s}/${created.id}`, token));
    await check('events', '/subscriptions/{id}', await call(`${s}/999999`, token));
    await check('events', '/subscriptions/{id}', await call(`${s}/${created.id}`, undefined));
  });

  it('Authentication: the exchange answers a string, as text or JSON', async () => {
    const client = await sim.newClient();
    const { SignJWT } = await import('jose');
    const { createPrivateKey, randomUUID } = await import('node:crypto');
    const iat = Math.floor(Date.now() / 1000);
    for (const format of ['text', 'json'] as const) {
      const assertion = await new SignJWT({ aud: `${sim.maskinportenUrl}/`, iss: client.clientId, scope: client.env.MASKINPORTEN_SCOPES, iat, exp: iat + 60, jti: randomUUID() })
        .setProtectedHeader({ alg: 'RS256', kid: client.kid! })
        .sign(createPrivateKey(client.privateKey));
      const mp = (await (await fetch(`${sim.maskinportenUrl}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }) })).json()) as { access_token: string };
      sim.settings.exchangeFormat = format;
      const body = await check('authentication', '/exchange/{tokenProvider}', await call(`${sim.platformUrl}/authentication/api/v1/exchange/maskinporten`, mp.access_token));
      expect(sim.verifyAltinnToken(body as string)).toBeDefined();
    }
    sim.settings.exchangeFormat = 'text';
  });
});

/** `{org}/{app}/{party}/{guid}[.pretest].json` instance files (element files live one level deeper, in folders). */
async function fixtureInstances(): Promise<{ org: string; file: string }[]> {
  const out: { org: string; file: string }[] = [];
  for (const root of INSTANCE_TREES) {
    for (const org of (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name)) {
      for (const app of await readdir(join(root, org))) {
        for (const party of await readdir(join(root, org, app))) {
          for (const f of await readdir(join(root, org, app, party))) {
            if (f.endsWith('.json')) out.push({ org, file: join(root, org, app, party, f) });
          }
        }
      }
    }
  }
  return out;
}

describe.runIf(altinnDocsPresent)(needsAltinnDocs('fixture instances (Altinn\'s and ours)'), () => {
  beforeAll(loadSpecs);

  it('load and come back equal from Storage (instance and query), and valid in both shapes', async () => {
    const fixtures = [
      ...(await fixtureInstances()),
      { org: 'ttd', file: join(ALTINN_DOCS, 'seed', 'instance.json') },
      { org: 'ttd', file: join(FIXTURES, 'instances', 'storage-instance.json') },
    ];
    expect(fixtures.length).toBeGreaterThanOrEqual(10);
    for (const org of new Set(fixtures.map((f) => f.org))) {
      const s = await startSimulator({ port: 0, org });
      try {
        const t = s.altinnToken();
        // A Map: one app-lib file reuses another's id (ef43 holds ef41); the later load replaces the earlier, as a store would.
        const loaded = new Map<string, InstanceDoc>();
        for (const f of fixtures.filter((x) => x.org === org)) {
          const doc = await s.loadInstanceFixture(f.file);
          const raw = JSON.parse(await readFile(f.file, 'utf8')) as InstanceDoc;
          expect({ ...doc, data: undefined }).toEqual({ ...raw, data: undefined });
          loaded.set(doc.id, doc);
          const back = await call(`${s.platformUrl}/storage/api/v1/instances/${doc.id}`, t);
          expect(await check('storage', S_INSTANCE, back.clone() as Response & { method: string })).toEqual(doc);
          const [app] = doc.appId.split('/').slice(1);
          await check('app', INSTANCE, await call(`${s.appsUrl}/${org}/${app}/instances/${doc.id}`, t));
          // Storage serves the stored bytes (the App API would re-serialise a form: see processor.fidelity.test.ts).
          for (const e of doc.data ?? []) {
            const res = await call(`${s.platformUrl}/storage/api/v1/instances/${doc.id}/data/${e.id}`, t);
            expect((await res.arrayBuffer()).byteLength).toBe(e.size);
          }
        }
        const page = (await (await call(`${s.platformUrl}/storage/api/v1/instances?org=${org}&size=1000`, t)).json()) as { instances: InstanceDoc[] };
        expect(page.instances.toSorted((a, b) => a.id.localeCompare(b.id))).toEqual([...loaded.values()].toSorted((a, b) => a.id.localeCompare(b.id)));
      } finally {
        await s.stop();
      }
    }
  });
});

describe('Storage query paging', () => {
  type Page = { count: number; next: string | null; instances: InstanceDoc[] };
  it("following Storage's next link skips instances that share a lastChanged at a page boundary and repeats others, as readinstancefromquery.sql does; a confirmed one disappears", async () => {
    const s = await startSimulator({ port: 0, org: 'pgn', seed: 7 });
    try {
      const t = s.altinnToken();
      const expected = new Set<string>();
      const t0 = Date.parse('2025-01-01T00:00:00Z');
      for (let i = 0; i < 1000; i++) {
        const kind = i % 5; // 0-2 completed unconfirmed, 3 completed and confirmed, 4 still running
        // Runs of 7 equal lastChanged: page boundaries fall inside them.
        const doc = await s.seedInstance({ app: i % 2 ? 'a' : 'b', completed: kind !== 4, confirmedBy: kind === 3 ? ['pgn'] : [], lastChanged: new Date(t0 + Math.floor(i / 7) * 1000) });
        if (kind < 3) expected.add(doc.id);
      }
      const first = `${s.platformUrl}/storage/api/v1/instances?org=pgn&process.isComplete=true&excludeConfirmedBy=pgn&size=64`;
      const seen: string[] = [];
      const boundaries = new Set<string>();
      let confirmedWhilePaging: string | undefined;
      for (let url: string | null = first; url; ) {
        const page = (await (await call(url, t)).json()) as Page;
        expect(page.count).toBe(page.instances.length);
        seen.push(...page.instances.map((i) => i.id));
        if (page.next) boundaries.add(String(page.instances.at(-1)?.lastChanged));
        // The token is Storage's own: `{lastChanged ticks};{internal id}`.
        if (page.next) expect(new URL(page.next).searchParams.get('continuationToken')).toMatch(/^\d{18};\d+$/);
        if (!confirmedWhilePaging) {
          // Confirming an instance already returned (which moves its lastChanged) must not make it come back.
          confirmedWhilePaging = page.instances[0]!.id;
          expect((await call(`${s.platformUrl}/storage/api/v1/instances/${confirmedWhilePaging}/complete`, t, { method: 'POST' })).status).toBe(200);
        }
        url = page.next;
      }
      const missed = [...expected].filter((id) => !seen.includes(id));
      expect(missed.length).toBeGreaterThan(0);
      // Every one missed shares its lastChanged with the last instance of a page; the repeats too.
      for (const id of missed) expect(boundaries).toContain(String(s.instance(id.split('/')[1] ?? '').lastChanged));
      expect(seen.length).toBeGreaterThan(new Set(seen).size);
      for (const id of seen) expect(expected).toContain(id);

      const again = (await (await call(`${first.replace('size=64', 'size=1000')}`, t)).json()) as Page;
      expect(again.next).toBeNull();
      expect(again.instances.map((i) => i.id)).not.toContain(confirmedWhilePaging);
      expect(again.instances.length).toBe(expected.size - 1);
    } finally {
      await s.stop();
    }
  });
});
