import type { Applications } from './applications.js';
import type { ContentSpec } from './content.js';
import type { Core } from './core.js';
import { guidFrom, iso, links, seededElementDoc, type SeedElement, type StoredInstance } from './store.js';

/** What an app's `IProcessEnd.End` does here: adds one data element `afterMs` after the process ended. */
export interface ProcessEndHandler {
  afterMs: number;
  element: SeedElement;
}

interface Due {
  at: number;
  s: StoredInstance;
  element: SeedElement;
}

/**
 * End-of-process handlers of the simulated apps. Altinn publishes `app.instance.process.completed`
 * before they run (app-lib-dotnet src/Altinn.App.Core/Internal/Process/ProcessEngine.cs: `Next` →
 * `HandleMoveToNext` stores the ended process and registers the event, then
 * `RunAppDefinedProcessEndHandlers` calls each `IProcessEnd.End`, which may add data). Additions fall
 * due on the simulator clock and are applied before the next request (or read) sees the instance, so
 * a fake clock drives them without timers.
 */
export function createProcessEnd(core: Core, random: () => number, applications: Applications) {
  const handlers = new Map<string, ProcessEndHandler[]>();
  let due: Due[] = [];
  return {
    /** Every instance of `app` whose process ends from now on gets this handler's element, `afterMs` later. */
    add(app: string, handler: ProcessEndHandler): void {
      handlers.set(app, [...(handlers.get(app) ?? []), handler]);
      applications.noteDataType(app, { id: handler.element.dataType, form: handler.element.form ?? handler.element.contentType === 'application/xml' });
    },
    /** The process of `s` has just ended: its app's handlers fall due. */
    ended(s: StoredInstance): void {
      for (const h of handlers.get(s.app) ?? []) due.push({ at: core.now() + h.afterMs, s, element: h.element });
    },
    /** Applies every addition due by now, in order. */
    applyDue(): void {
      if (due.length === 0) return;
      const now = core.now();
      const ready = due.filter((d) => d.at <= now).sort((a, b) => a.at - b.at);
      due = due.filter((d) => d.at > now);
      for (const d of ready) addElement(core, random, d);
    },
  };
}

export type ProcessEnd = ReturnType<typeof createProcessEnd>;

/** The element as the app's DataClient would store it: a new element, the instance's lastChanged moved to when it was added. */
function addElement(core: Core, random: () => number, { at, s, element }: Due): void {
  const id = guidFrom(random);
  const bytes = element.content === undefined ? undefined : Buffer.from(element.content);
  const spec: ContentSpec = { seed: `${s.guid}/${id}`, size: bytes?.length ?? element.size, ...(bytes ? { bytes } : {}) };
  s.content.set(id, spec);
  const seed = { org: s.org, app: s.app, partyId: s.partyId, guid: s.guid, t: at, completed: true, links: (tail?: string) => links(core, s.org, s.app, s.partyId, s.guid, tail) };
  const doc = { ...seededElementDoc(element, id, spec, undefined, seed), createdBy: 'app', lastChangedBy: 'app' };
  s.doc.data = [...(s.doc.data ?? []), doc];
  s.changedMs = Math.max(at, s.changedMs + 1);
  s.doc.lastChanged = iso(s.changedMs);
  s.doc.lastChangedBy = 'app';
}
