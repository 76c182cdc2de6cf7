import type { z } from 'zod';
import type { AltinnHttp } from '../lib/altinn/http.js';
import { ReceiverError } from '../lib/errors.js';
import { CliError, EXIT } from './errors.js';
import { formatProblem, parseProblem } from './problem.js';

/**
 * A fetch that remembers the body of the last non-2xx answer, so the CLI can show Altinn's problem details
 * in full and readably (lib/altinn/http.ts puts a one-line snippet of it in its ReceiverError).
 */
export function failureRecordingFetch(base: typeof fetch = fetch) {
  let last: { url: string; status: number; body: string } | undefined;
  const recording: typeof fetch = async (input, init) => {
    const res = await base(input, init);
    const url = input instanceof Request ? input.url : String(input);
    if (!res.ok) last = { url, status: res.status, body: await res.clone().text().catch(() => '') };
    return res;
  };
  return {
    fetch: recording,
    take() {
      const l = last;
      last = undefined;
      return l;
    },
  };
}

export interface AltinnClient {
  /** Send JSON (when `body` is given) and validate the JSON answer with `schema`. */
  json<S extends z.ZodType>(method: string, url: string, schema: S, body?: unknown): Promise<z.output<S>>;
  /** A request whose answer body is not needed. */
  send(method: string, url: string): Promise<void>;
}

export function createAltinnClient(http: AltinnHttp, failures: ReturnType<typeof failureRecordingFetch>): AltinnClient {
  const call = async (method: string, url: string, body?: unknown): Promise<Response> => {
    failures.take();
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await http.request(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      const failure = failures.take();
      // Only this call's own answer: a failed token request has its own error, from lib/auth.
      if (!(e instanceof ReceiverError) || failure?.url !== url) throw e;
      const problem = parseProblem(failure.body);
      const said = problem ? `:\n${formatProblem(problem)}` : '';
      throw new CliError(`Altinn answered ${failure.status} to ${method} ${url}${said}`, EXIT.remote, { problem, status: failure.status });
    }
  };
  return {
    async json(method, url, schema, body) {
      const res = await call(method, url, body);
      const text = await res.text();
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new CliError(`${method} ${url}: Altinn answered ${res.status} with a body that is not JSON`, EXIT.remote);
      }
      const parsed = schema.safeParse(value);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
        throw new CliError(`${method} ${url}: unexpected answer from Altinn (${issues})`, EXIT.remote);
      }
      return parsed.data;
    },
    async send(method, url) {
      const res = await call(method, url);
      await res.body?.cancel();
    },
  };
}
