// Alert rules on what the app logs to Application Insights (README "Operations": the runbook per alert).
// Most read the monitor function's line (lib/ops/monitor.ts: message {"msg":"monitor", ...} under the category
// Function.monitor.User, every 5 minutes); test/alerts.test.ts checks that every m.<field> below is a field
// that line really has. The others read the host's request telemetry (Host.Results).

param insightsName string
param location string
param tags { *: string }

@description('Short prefix of the rule and action group names, e.g. the environment name.')
param namePrefix string

@description('E-mail address that receives the alerts; empty: the action group has no receiver (add one in the portal).')
param alertEmail string = ''

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: insightsName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${namePrefix}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: take('altinnrcv', 12)
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : [
      {
        name: 'operators'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

// The monitor's lines in the window, each one's JSON fields as `m`.
var monitorLines = 'traces | where customDimensions.Category == "Function.monitor.User" | extend m = parse_json(message) | where tostring(m.msg) == "monitor"'

type Rule = {
  name: string
  description: string
  severity: int
  query: string
  @description('How often the rule runs (ISO 8601, one of the values Azure Monitor offers).')
  frequency: string
  @description('How far back each run looks: twice the frequency, so one late monitor line does not hide a problem.')
  window: string
  @description('Fire when the query returns fewer rows than 1 (silence), instead of at least 1.')
  whenEmpty: bool?
}

var rules Rule[] = [
  {
    name: 'poison-not-empty'
    description: 'Messages in altinn-events-poison: instances that failed permanently or repeatedly. Runbook: docs/operations.md, "Monitor and alerts".'
    severity: 1
    query: '${monitorLines} | where toint(m.poisonCount) > 0'
    frequency: 'PT5M'
    window: 'PT10M'
  }
  {
    name: 'pending-too-old'
    description: 'The oldest altinn-events message waited more than 30 minutes: processing is stuck or too slow.'
    severity: 2
    query: '${monitorLines} | where toint(m.pendingOldestAgeSeconds) > 1800'
    frequency: 'PT5M'
    window: 'PT10M'
  }
  {
    name: 'reconcile-not-complete'
    description: 'No complete reconcile run for 2 hours: events Altinn did not deliver are not caught up.'
    severity: 2
    query: '${monitorLines} | where toint(m.reconcileLastCompleteAgeSeconds) > 7200 or isnull(m.reconcileLastCompleteAgeSeconds)'
    frequency: 'PT15M'
    window: 'PT30M'
  }
  {
    name: 'held-waiting'
    description: 'Held instances (infected elements) wait for an operator decision: held list, then held release.'
    severity: 3
    query: '${monitorLines} | where toint(m.heldCount) > 0'
    frequency: 'PT1H'
    window: 'PT2H'
  }
  {
    name: 'subscription-drift'
    description: 'Altinn Events subscriptions differ from ALTINN_APPS x ALTINN_EVENT_TYPES x WEBHOOK_URL (missing, inexact or empty filter, prefix overlap, unvalidated, duplicate, stale endpoint): events may not arrive. Runbook: subscriptions check.'
    severity: 2
    query: '${monitorLines} | where toint(m.subscriptionDrift) > 0'
    frequency: 'PT15M'
    window: 'PT30M'
  }
  {
    name: 'unconfirmed-too-old'
    description: 'A completed instance we know of has waited longer than UNCONFIRMED_LIMIT_MINUTES without our confirmation: its citizen still sees "awaiting confirmation". Runbook: status.'
    severity: 2
    query: '${monitorLines} | where toint(m.oldestUnconfirmedAgeSeconds) > toint(m.unconfirmedLimitSeconds)'
    frequency: 'PT5M'
    window: 'PT10M'
  }
  {
    name: 'unhealthy'
    description: 'Settings invalid or storage unreachable (the monitor\'s health check, or /api/health answering 503).'
    severity: 1
    query: 'union (${monitorLines} | where tobool(m.healthy) == false), (requests | where name == "health" and resultCode == "503")'
    frequency: 'PT5M'
    window: 'PT10M'
  }
  {
    name: 'credentials-refused'
    description: 'Maskinporten or Altinn refused our credentials (client id, key, scopes, org): every instance waits, 10 minutes at a time, until the settings are fixed.'
    severity: 1
    query: 'traces | where customDimensions.Category == "Function.instanceProcessor.User" | extend m = parse_json(message) | where tostring(m.msg) == "Maskinporten or Altinn refused our credentials; fix the settings"'
    frequency: 'PT5M'
    window: 'PT10M'
  }
  {
    name: 'function-failures'
    description: 'Function invocations failed (the host retries queue messages; persistent failures end in poison).'
    severity: 2
    query: 'requests | where success == false'
    frequency: 'PT15M'
    window: 'PT30M'
  }
  {
    name: 'monitor-silent'
    description: 'No monitor line for 30 minutes: the app is not running, or its logs do not reach Application Insights.'
    severity: 1
    query: monitorLines
    frequency: 'PT15M'
    window: 'PT30M'
    whenEmpty: true
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = [
  for rule in rules: {
    name: 'alert-${namePrefix}-${rule.name}'
    location: location
    tags: tags
    properties: {
      displayName: 'altinn-receiver: ${rule.name}'
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [insights.id]
      evaluationFrequency: rule.frequency
      windowSize: rule.window
      autoMitigate: true
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            operator: (rule.?whenEmpty ?? false) ? 'LessThan' : 'GreaterThan'
            threshold: (rule.?whenEmpty ?? false) ? 1 : 0
            failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
          }
        ]
      }
      actions: { actionGroups: [actionGroup.id] }
    }
  }
]

output actionGroupId string = actionGroup.id
output ruleNames string[] = [for (rule, i) in rules: alertRules[i].name]
