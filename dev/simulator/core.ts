import type { KeyObject } from 'node:crypto';
import type { Role } from './http.js';

/** What every part of the simulator shares: clock, identity, signing key, URLs and counters. */
export interface Core {
  org: string;
  /** The simulated org's organisation number (the Maskinporten consumer that maps to `org`). */
  orgNumber: string;
  now: () => number;
  urls: Record<Role, string>;
  /** Signs every token the simulator issues (Maskinporten and Altinn). */
  signingKey: KeyObject;
  verifyKey: KeyObject;
  counters: Counters;
  /**
   * Dev-only allowance: Altinn Events accepts only https endpoints and source filters (altinn-events
   * SubscriptionController.IsValidUri, #1052); the simulator also takes http to a loopback host, where local
   * webhooks listen (default true; false: Altinn's rule exactly).
   */
  httpLoopback: boolean;
}

export interface Counters {
  /** POST /token requests received (successful or not). */
  grants: number;
  /** Maskinporten tokens issued. */
  grantsIssued: number;
  /** Exchange requests received (successful or not). */
  exchanges: number;
  /** Altinn tokens issued. */
  exchangesIssued: number;
  /** Data element GETs that started streaming a body, per instance guid (App and Storage API). */
  downloads: Record<string, number>;
  /** Complete calls answered 200, per instance guid. */
  completes: Record<string, number>;
  /** Complete calls that added a confirmation (the first per org), per instance guid. */
  effectiveCompletes: Record<string, number>;
  /** Event deliveries attempted (validation events included), per subscription id. */
  deliveries: Record<string, number>;
}

export function newCounters(): Counters {
  return { grants: 0, grantsIssued: 0, exchanges: 0, exchangesIssued: 0, downloads: {}, completes: {}, effectiveCompletes: {}, deliveries: {} };
}

export const bump = (map: Record<string, number>, key: string): void => {
  map[key] = (map[key] ?? 0) + 1;
};

export const seconds = (ms: number): number => Math.floor(ms / 1000);
