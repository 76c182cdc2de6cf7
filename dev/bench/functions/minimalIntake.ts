/**
 * The intake bench's baseline function (never deployed): what a minimal webhook needs and nothing more.
 * It runs in the same local host as ours (same HTTP adapter, same invocation context and log routing)
 * and puts the body on a queue through the same runtime's queue sender (same client, same encoding), so
 * ours / this is the cost of our webhook code alone: no validation, no filtering, one plain log line.
 */
import type { HttpRequest, InvocationContext } from '@azure/functions';
import type { FunctionDefinition } from '../../../lib/functionDefinition.js';
import { getRuntime } from '../../../lib/runtime.js';

export const MINIMAL_QUEUE = 'bench-intake-minimal';

export const definition: FunctionDefinition = {
  kind: 'http',
  name: 'minimalIntake',
  options: {
    route: 'minimal',
    methods: ['POST'],
    authLevel: 'function',
    handler: async (request: HttpRequest, context: InvocationContext) => {
      const rt = await getRuntime();
      const { messageId } = await rt.queues.send(MINIMAL_QUEUE, await request.text());
      context.info(`enqueued ${messageId}`);
      return { status: 200 };
    },
  },
};
