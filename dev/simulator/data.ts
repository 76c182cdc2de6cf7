import { pipeline } from 'node:stream/promises';
import { contentDisposition, headerContentType } from '../../lib/blob/headerSafe.js';
import { contentChunks, contentStream } from './content.js';
import { bump, type Core } from './core.js';
import type { Ctx } from './http.js';
import type { ElementDoc, StoredInstance } from './store.js';
import type { ContentSpec } from './content.js';


/**
 * Streams an element's bytes as the App and Storage APIs do (Content-Type from the element,
 * Content-Disposition with its filename; Storage without Content-Length), applying body faults: reset
 * or truncation mid-body, or a body longer/shorter than the element's size.
 */
export async function sendElement(ctx: Ctx, core: Core, s: StoredInstance, element: { doc: ElementDoc; spec: ContentSpec }, o: { contentLength: boolean } = { contentLength: true }): Promise<void> {
  const { res, fault } = ctx;
  const bodySize = Math.max(0, element.spec.size + (fault?.sizeDelta ?? 0));
  const stopAt = fault?.resetAfterBytes ?? fault?.truncateAfterBytes;
  res.writeHead(200, {
    // Storage's File() result would refuse a content type that is no media type; hostile-input tests need the bytes, and we never read this header.
    'Content-Type': headerContentType(element.doc.contentType),
    ...(o.contentLength ? { 'Content-Length': bodySize } : {}),
    ...(element.doc.filename ? { 'Content-Disposition': contentDisposition(element.doc.filename) } : {}),
  });
  bump(core.counters.downloads, s.guid);
  if (ctx.req.method === 'HEAD') return void res.end();
  const limit = stopAt === undefined ? bodySize : Math.min(stopAt, bodySize);
  if (stopAt === undefined) return pipeline(contentStream(element.spec, limit), res);
  for await (const chunk of contentStream(element.spec, limit)) {
    if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
  }
  // Let the bytes written so far leave before breaking the connection.
  await new Promise<void>((resolve) => res.write('', () => resolve()));
  if (fault?.resetAfterBytes !== undefined) res.socket?.resetAndDestroy();
  else res.socket?.end();
}

/**
 * A form element as an app's API answers it (app-lib DataController `GetFormData`): the model is
 * deserialised and written anew as JSON, chunked (no Content-Length), so neither its bytes nor its
 * length match the stored element. Forms are small: the content is read whole.
 */
export function sendReserialised(ctx: Ctx, core: Core, s: StoredInstance, element: { doc: ElementDoc; spec: ContentSpec }): void {
  const chunks: Buffer[] = [];
  for (const chunk of contentChunks(element.spec)) chunks.push(chunk);
  const model = { dataType: element.doc.dataType, altinnRowIdsStripped: true, content: Buffer.concat(chunks).toString('utf8') };
  ctx.res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
  bump(core.counters.downloads, s.guid);
  ctx.res.end(JSON.stringify(model));
}
