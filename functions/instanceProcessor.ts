import { register } from '../lib/functionDefinition.js';
import { withInvocationLog } from '../lib/invocationLog.js';
import { QUEUES } from '../lib/queue/names.js';
import { getProcessor } from '../lib/processor/fromRuntime.js';

export const definition = register({
  kind: 'storageQueue',
  name: 'instanceProcessor',
  options: {
    queueName: QUEUES.events,
    connection: 'AzureWebJobsStorage',
    handler: (message, context) =>
      withInvocationLog(context, async () => {
        const dequeueCount = Number(context.triggerMetadata?.dequeueCount);
        const processor = await getProcessor();
        await processor.handle(message, { dequeueCount: Number.isFinite(dequeueCount) ? dequeueCount : undefined });
      }),
  },
});
