/**
 * The apps' authorization policies as far as a service owner meets them: Storage decides `read` and
 * `complete` on an instance by asking Authorization with the app's policy (altinn-storage
 * src/Storage/Program.cs `POLICY_INSTANCE_COMPLETE` → `AppAccessRequirement("complete")`; InstancesController
 * `Get` → `AuthorizeInstanceRequest(instance, Read)`), not by the token's scopes. Studio's policy template
 * gives the app's own org read, write and complete; an app whose policy lacks an action answers 403 to it.
 */
/**
 * The actions Studio's policy template grants the app's own org (allowed until denied); any other action
 * (one a restricted data type requires, `actionRequiredToRead`) is denied until allowed.
 */
const GRANTED_BY_TEMPLATE = ['read', 'write', 'complete'] as const;
export type PolicyAction = (typeof GRANTED_BY_TEMPLATE)[number] | (string & {});

export function createPolicies() {
  const changed = new Map<string, Map<string, boolean>>();
  const set = (app: string, action: string, allowed: boolean) => {
    const actions = changed.get(app) ?? new Map<string, boolean>();
    actions.set(action, allowed);
    changed.set(app, actions);
  };
  return {
    /** Whether the app's own org may do `action` on the app's instances. */
    allows: (app: string, action: PolicyAction): boolean => changed.get(app)?.get(action) ?? (GRANTED_BY_TEMPLATE as readonly string[]).includes(action),
    /** The app's policy no longer grants the org `action` (a policy edited in Studio). */
    deny: (app: string, action: PolicyAction): void => set(app, action, false),
    /** Grants `action` (again). */
    allow: (app: string, action: PolicyAction): void => set(app, action, true),
  };
}

export type Policies = ReturnType<typeof createPolicies>;
