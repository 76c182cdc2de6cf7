import type { ElementDoc, InstanceDoc } from './store.js';

/**
 * Storage keeps enums as strings and omits unset fields; an app's API (System.Text.Json) writes
 * every field, nulls included, enums as integers (readStatus), and adds the owner's party.
 */
const READ_STATUS: Record<string, number> = { Unread: 0, Read: 1, UpdatedSinceLastReview: 2 };
const nul = (v: unknown) => (v === undefined ? null : v);
type Obj = Record<string, unknown>;

function appElement(e: ElementDoc): Obj {
  const keys = ['id', 'instanceGuid', 'dataType', 'filename', 'contentType', 'blobStoragePath', 'selfLinks', 'size', 'contentHash', 'locked', 'refs', 'isRead',
    'tags', 'userDefinedMetadata', 'metadata', 'deleteStatus', 'fileScanResult', 'references', 'created', 'createdBy', 'lastChanged', 'lastChangedBy'];
  // Value types (.NET) are never null: they take their defaults.
  return { ...Object.fromEntries(keys.map((k) => [k, nul(e[k])])), size: e.size ?? 0, locked: e.locked ?? false, isRead: e.isRead ?? false, fileScanResult: e.fileScanResult ?? 'NotApplicable' };
}

function appProcess(p: Obj | undefined): Obj | null {
  if (!p) return null;
  const t = p.currentTask as Obj | undefined;
  return {
    started: nul(p.started),
    startEvent: nul(p.startEvent),
    currentTask: t
      ? { flow: nul(t.flow), started: nul(t.started), elementId: nul(t.elementId), name: nul(t.name), altinnTaskType: nul(t.altinnTaskType), ended: nul(t.ended), validated: nul(t.validated), flowType: nul(t.flowType) }
      : null,
    ended: nul(p.ended),
    endEvent: nul(p.endEvent),
  };
}

function appStatus(s: Obj | undefined): Obj | null {
  if (!s) return null;
  return {
    isArchived: s.isArchived ?? false,
    archived: nul(s.archived),
    isSoftDeleted: s.isSoftDeleted ?? false,
    softDeleted: nul(s.softDeleted),
    isHardDeleted: s.isHardDeleted ?? false,
    hardDeleted: nul(s.hardDeleted),
    readStatus: typeof s.readStatus === 'string' ? (READ_STATUS[s.readStatus] ?? 0) : (s.readStatus ?? 0),
    substatus: nul(s.substatus),
  };
}

/** The app's `Instance` (complete, substatus); with `party`: its `InstanceResponse` (GET instance). */
export function toAppInstance(doc: InstanceDoc, withParty: boolean): Obj {
  const owner = (doc.instanceOwner ?? {}) as Obj;
  const ownerOut: Obj = {
    partyId: nul(owner.partyId),
    personNumber: nul(owner.personNumber),
    organisationNumber: nul(owner.organisationNumber),
    username: nul(owner.username),
    externalIdentifier: nul(owner.externalIdentifier),
  };
  if (withParty) {
    ownerOut.party = {
      partyId: Number(owner.partyId),
      partyUuid: null,
      partyTypeName: owner.organisationNumber ? 2 : 1,
      ssn: nul(owner.personNumber),
      orgNumber: nul(owner.organisationNumber),
      unitType: null,
      name: 'Simulated Party',
      isDeleted: false,
    };
  }
  return {
    id: doc.id,
    instanceOwner: ownerOut,
    appId: doc.appId,
    org: doc.org,
    selfLinks: nul(doc.selfLinks),
    dueBefore: nul(doc.dueBefore),
    visibleAfter: nul(doc.visibleAfter),
    process: appProcess(doc.process as Obj | undefined),
    status: appStatus(doc.status as Obj | undefined),
    completeConfirmations: nul(doc.completeConfirmations),
    data: (doc.data ?? []).map(appElement),
    presentationTexts: nul(doc.presentationTexts),
    dataValues: nul(doc.dataValues),
    created: nul(doc.created),
    createdBy: nul(doc.createdBy),
    lastChanged: nul(doc.lastChanged),
    lastChangedBy: nul(doc.lastChangedBy),
  };
}
