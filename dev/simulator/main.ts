import { startSimulator } from './index.js';

/** `npm run simulator`: the simulator on fixed ports, with a demo client and instance, for local runs and the demo. */
const port = Number(process.env.SIMULATOR_PORT ?? 5100);
const sim = await startSimulator({ port, eventRetryScale: Number(process.env.SIMULATOR_EVENT_RETRY_SCALE ?? 1) });
const client = await sim.newClient();
const instance = await sim.seedInstance({
  app: 'demo-app',
  partyId: 50001337,
  completed: true,
  elements: [
    { dataType: 'model', contentType: 'application/xml', size: 2048 },
    { dataType: 'attachment', contentType: 'application/pdf', filename: 'vedlegg.pdf', size: 5 * 1024 * 1024, withContentHash: true },
  ],
});

console.log(`Altinn simulator (org ${sim.org})
  Maskinporten: ${sim.maskinportenUrl}
  Platform:     ${sim.platformUrl}
  Apps:         ${sim.appsUrl}
  Demo instance: ${instance.id} (completed, not confirmed)

Settings for a demo client (local.settings.json "Values"; add AzureWebJobsStorage):
${JSON.stringify(client.env, null, 2)}
`);

const shutdown = () => void sim.stop().then(() => process.exit(0));
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
