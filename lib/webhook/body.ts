import { problem, type WebhookResponse } from './problem.js';

/** What the webhook needs of a request: the @azure/functions HttpRequest and the web Request both fit. */
export interface IncomingRequest {
  method: string;
  headers: { get(name: string): string | null };
  body: ReadableStream<Uint8Array> | null;
}

export const MAX_BODY_BYTES = 64 * 1024;

const MEDIA_TYPES = new Set(['application/json', 'application/cloudevents+json']);

/** `application/json` or `application/cloudevents+json`, any case, any parameters (charset, …). */
export function acceptsContentType(header: string | null): boolean {
  if (header === null) return false;
  const mediaType = header.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return MEDIA_TYPES.has(mediaType);
}

export type BodyResult = { ok: true; text: string } | { ok: false; response: WebhookResponse };

// Stateless between calls (no `stream: true`), so one decoder serves every request.
const UTF8 = new TextDecoder('utf-8', { fatal: true });

const tooLarge = () => problem(413, 'body-too-large', `the body must be at most ${MAX_BODY_BYTES} bytes`);

/**
 * The body as UTF-8 text, never more than MAX_BODY_BYTES held: a declared Content-Length over the limit
 * is refused before reading, and the stream is cancelled as soon as the count passes it.
 */
export async function readBody(request: IncomingRequest, maxBytes = MAX_BODY_BYTES): Promise<BodyResult> {
  const declared = request.headers.get('content-length');
  if (declared !== null) {
    if (!/^\d{1,16}$/.test(declared.trim())) {
      return { ok: false, response: problem(400, 'bad-content-length', 'Content-Length must be a number of bytes') };
    }
    if (Number(declared) > maxBytes) return { ok: false, response: tooLarge() };
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        return { ok: false, response: tooLarge() };
      }
      chunks.push(value);
    }
  }
  try {
    return { ok: true, text: UTF8.decode(Buffer.concat(chunks, total)) };
  } catch {
    return { ok: false, response: problem(400, 'not-json', 'the body is not valid UTF-8') };
  }
}
