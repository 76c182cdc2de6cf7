/**
 * The apps' authorization policies as far as a service owner meets them: Storage decides `read` and
 * `complete` on an instance by asking Authorization with the app's policy (altinn-storage
 * src/Storage/Program.cs `POLICY_INSTANCE_COMPLETE` → `AppAccessRequirement("complete")`; InstancesController
 * `Get` → `AuthorizeInstanceRequest(instance, Read)`), not by the token's scopes. Studio's policy template
 * gives the app's own org read, write and complete; an app whose policy lacks an action answers 403 to it.
 */
export type PolicyAction = 'read' | 'write' | 'complete';

export function createPolicies() {
  const denied = new Map<string, Set<PolicyAction>>();
  return {
    /** Whether the app's own org may do `action` on the app's instances. */
    allows: (app: string, action: PolicyAction): boolean => !denied.get(app)?.has(action),
    /** The app's policy no longer grants the org `action` (a policy edited in Studio). */
    deny(app: string, action: PolicyAction): void {
      const set = denied.get(app) ?? new Set<PolicyAction>();
      set.add(action);
      denied.set(app, set);
    },
    /** Grants `action` again. */
    allow(app: string, action: PolicyAction): void {
      denied.get(app)?.delete(action);
    },
  };
}

export type Policies = ReturnType<typeof createPolicies>;
