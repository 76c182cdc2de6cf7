/** Queue names of DESIGN.md's contract. */
export const QUEUES = {
  events: 'altinn-events',
  poison: 'altinn-events-poison',
  ready: 'altinn-instances-ready',
} as const;
