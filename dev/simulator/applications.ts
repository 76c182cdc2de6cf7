import type { Core } from './core.js';
import { HttpError, sendJson, type Ctx, type Route } from './http.js';

/** A data type of an app's metadata; `form` = it has a data model (appLogic.classRef). */
export interface DataTypeSpec {
  id: string;
  form?: boolean;
  /** Restricted data: reading an element needs this action on the instance (app-lib DataType `actionRequiredToRead`). */
  actionRequiredToRead?: string;
}

/** Service-owner scopes an app demands on top of Altinn's (app-lib ApplicationMetadata `apiScopes`). */
export interface AppScopes {
  read: string;
  write: string;
}

export interface AppMetadata {
  dataTypes: Map<string, DataTypeSpec>;
  apiScopes?: AppScopes | undefined;
  /** No longer deployed: the app's own API answers 404; Storage keeps its metadata (a soft delete only sets validTo). */
  retired: boolean;
}

/** Declared by every app Studio builds: the receipt PDF. */
const ALWAYS = 'ref-data-as-pdf';

/** The applications Storage knows, and the data types tests retired from them. */
interface ApplicationsState {
  core: Core;
  apps: Map<string, AppMetadata>;
  /** Types a test retired per app: seeding another instance holding one does not declare it again. */
  retired: Map<string, Set<string>>;
}

/**
 * Application metadata as Storage keeps it (altinn-storage src/Storage/Controllers/ApplicationsController.cs).
 * An app is registered with the data types of the instances seeded for it, unless a test declares it first.
 */
export function createApplications(core: Core) {
  const state: ApplicationsState = { core, apps: new Map(), retired: new Map() };
  const routes: Route[] = [
    {
      // AllowAnonymous too (`GetMany`): `{ applications: [...] }`, soft-deleted apps included.
      name: 'storage.applications',
      method: 'GET',
      path: /^\/storage\/api\/v1\/applications\/(?<org>[^/]+)$/,
      handle: (ctx) =>
        sendJson(ctx.res, 200, {
          applications: ctx.params.org === core.org ? [...state.apps].map(([app, meta]) => applicationDocument(core, app, meta)) : [],
        }),
    },
    {
      // AllowAnonymous in Storage: no token needed.
      name: 'storage.application',
      method: 'GET',
      path: /^\/storage\/api\/v1\/applications\/(?<org>[^/]+)\/(?<app>[^/]+)$/,
      handle: (ctx) => sendApplication(state, ctx),
    },
  ];

  return {
    routes,
    get: (app: string) => state.apps.get(app),
    /** Registers the app of a stored instance (deployed, with the receipt type) unless known. */
    register: (app: string): void => void ensure(state, app),
    noteDataType: (app: string, spec: DataTypeSpec): void => noteDataType(state, app, spec),
    /** Declares (or redeclares) an app's data types, app-defined scopes and actions its policy grants the service owner. */
    declare: (app: string, o: DeclareOptions): void => declare(state, app, o),
    /** A new app version without this data type: instances that hold it remain. */
    retireDataType: (app: string, dataType: string): void => retireDataType(state, app, dataType),
    /** The app is no longer deployed. */
    retireApp: (app: string): void => {
      ensure(state, app).retired = true;
    },
  };
}

export type Applications = ReturnType<typeof createApplications>;

function ensure({ apps }: ApplicationsState, app: string): AppMetadata {
  let meta = apps.get(app);
  if (!meta) {
    meta = { dataTypes: new Map([[ALWAYS, { id: ALWAYS }]]), retired: false };
    apps.set(app, meta);
  }
  return meta;
}

/** Adds a data type seen in a seeded instance, unless the app already knows (or retired) it. */
function noteDataType(state: ApplicationsState, app: string, spec: DataTypeSpec): void {
  const meta = ensure(state, app);
  if (!meta.dataTypes.has(spec.id) && !state.retired.get(app)?.has(spec.id)) meta.dataTypes.set(spec.id, spec);
}

export interface DeclareOptions {
  dataTypes?: DataTypeSpec[];
  apiScopes?: AppScopes;
}

function declare(state: ApplicationsState, app: string, o: DeclareOptions): void {
  const meta = ensure(state, app);
  if (o.dataTypes) meta.dataTypes = new Map(o.dataTypes.map((d) => [d.id, d]));
  if (o.apiScopes) meta.apiScopes = o.apiScopes;
}

function retireDataType(state: ApplicationsState, app: string, dataType: string): void {
  ensure(state, app).dataTypes.delete(dataType);
  let set = state.retired.get(app);
  if (!set) state.retired.set(app, (set = new Set()));
  set.add(dataType);
}

/** GET the app's metadata: 404 for an app of another org or one never registered. */
function sendApplication({ core, apps }: ApplicationsState, ctx: Ctx): void {
  const meta = ctx.params.org === core.org ? apps.get(ctx.params.app!) : undefined;
  if (!meta) throw new HttpError(404, `Could not find an application with appId=${ctx.params.org}/${ctx.params.app}`);
  sendJson(ctx.res, 200, applicationDocument(core, ctx.params.app!, meta));
}

/** The metadata document Storage answers with; a retired app keeps it, with validTo set. */
function applicationDocument(core: Core, app: string, meta: AppMetadata): Record<string, unknown> {
  const created = new Date(core.now() - 86_400_000).toISOString();
  return {
    id: `${core.org}/${app}`,
    org: core.org,
    title: { nb: app },
    versionId: 'sim',
    created,
    createdBy: 'studio',
    lastChanged: created,
    lastChangedBy: 'studio',
    validFrom: created,
    ...(meta.retired ? { validTo: new Date(core.now()).toISOString() } : {}),
    dataTypes: [...meta.dataTypes.values()].map((d) => ({
      id: d.id,
      allowedContentTypes: d.form ? ['application/xml'] : null,
      ...(d.form ? { appLogic: { autoCreate: true, classRef: `Altinn.App.Models.${d.id}` } } : {}),
      ...(d.actionRequiredToRead ? { actionRequiredToRead: d.actionRequiredToRead } : {}),
      minCount: 0,
      maxCount: 1,
    })),
    partyTypesAllowed: { bankruptcyEstate: false, organisation: false, person: false, subUnit: false },
    ...(meta.apiScopes
      ? { apiScopes: { serviceOwners: { read: meta.apiScopes.read, write: meta.apiScopes.write } } }
      : {}),
  };
}
