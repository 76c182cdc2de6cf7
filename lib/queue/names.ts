/** Queue names of the contract (docs/contracts.md, Queues). */
export const QUEUES = {
  events: 'altinn-events',
  poison: 'altinn-events-poison',
  ready: 'altinn-instances-ready',
  /** Instances stored but not confirmed because an element is infected: waiting for an operator (`held release`). */
  held: 'altinn-instances-held',
} as const;
