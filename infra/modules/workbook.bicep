// An Azure Monitor workbook on Application Insights: per app, what an operator would rather look at than read.
// Its queries read only fields of our own log lines (docs/operations.md "Workbook"): the monitor's line as `m`
// (and its per-app entries as `a`), the processor's as `p`, the webhook's as `w`. test/confirmations.test.ts checks
// that every <alias>.<field> below is a field such a line really carries.

param insightsName string
param location string
param tags { *: string }

@description('Short prefix of the workbook name, e.g. the environment name.')
param namePrefix string

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: insightsName
}

var monitorLines = 'traces | where customDimensions.Category == "Function.monitor.User" | extend m = parse_json(message) | where tostring(m.msg) == "monitor"'
var processorLines = 'traces | where customDimensions.Category == "Function.instanceProcessor.User" | extend p = parse_json(message)'
var webhookLines = 'traces | where customDimensions.Category == "Function.eventsReceiver.User" | extend w = parse_json(message) | where tostring(w.msg) == "webhook request"'

type Chart = { title: string, query: string, visualization: ('timechart' | 'table' | 'barchart') }

var charts Chart[] = [
  {
    title: 'Events received (enqueued by the webhook), per app'
    query: '${webhookLines} | where tostring(w.decision) == "enqueued" | summarize events = count() by app = tostring(w.app), bin(timestamp, 15m)'
    visualization: 'timechart'
  }
  {
    title: 'Confirmations, per app and by how we first heard of the instance'
    query: '${processorLines} | where tostring(p.msg) == "done" and tostring(p.outcome) == "confirmed" | summarize confirmations = count() by app = tostring(p.app), via = tostring(p.firstHeardVia), bin(timestamp, 15m)'
    visualization: 'timechart'
  }
  {
    title: 'Time to confirmation (process.ended to complete, seconds): p50 and p95 per app'
    query: '${processorLines} | where tostring(p.msg) == "done" and tostring(p.outcome) == "confirmed" and isnotnull(p.confirmSeconds) | summarize p50 = percentile(toint(p.confirmSeconds), 50), p95 = percentile(toint(p.confirmSeconds), 95) by app = tostring(p.app), bin(timestamp, 1h)'
    visualization: 'timechart'
  }
  {
    title: 'Backlog (altinn-events) and the oldest completed instance not yet confirmed (seconds)'
    query: '${monitorLines} | summarize backlog = max(toint(m.pendingCount)), oldestUnconfirmedSeconds = max(toint(m.oldestUnconfirmedAgeSeconds)), limit = max(toint(m.unconfirmedLimitSeconds)) by bin(timestamp, 15m)'
    visualization: 'timechart'
  }
  {
    title: 'Unconfirmed instances and the oldest of them, per app'
    query: '${monitorLines} | mv-expand a = m.confirmationsByApp | summarize unconfirmed = max(toint(a.unconfirmed)), oldestUnconfirmedSeconds = max(toint(a.oldestUnconfirmedAgeSeconds)) by app = tostring(a.app), bin(timestamp, 15m)'
    visualization: 'timechart'
  }
  {
    title: 'Deferrals by reason'
    query: '${processorLines} | where tostring(p.msg) == "message deferred" | summarize deferrals = count() by why = tostring(p.why), bin(timestamp, 15m)'
    visualization: 'timechart'
  }
  {
    title: 'Poison and held'
    query: '${monitorLines} | summarize poison = max(toint(m.poisonCount)), held = max(toint(m.heldCount)) by bin(timestamp, 15m)'
    visualization: 'timechart'
  }
]

var workbook = {
  version: 'Notebook/1.0'
  items: concat(
    [
      {
        type: 1
        content: { json: '# altinn-receiver\nPer app: events received, confirmations, time to confirmation, backlog and oldest unconfirmed, deferrals, poison and held. Runbook: docs/operations.md.' }
        name: 'intro'
      }
    ],
    map(charts, (c, i) => {
      type: 3
      content: {
        version: 'KqlItem/1.0'
        query: c.query
        size: 0
        title: c.title
        timeContext: { durationMs: 86400000 }
        queryType: 0
        resourceType: 'microsoft.insights/components'
        visualization: c.visualization
      }
      name: 'chart-${i}'
    })
  )
}

resource dashboard 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, 'altinn-receiver-workbook', namePrefix)
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'altinn-receiver (${namePrefix})'
    category: 'workbook'
    sourceId: insights.id
    serializedData: string(workbook)
  }
}

output workbookId string = dashboard.id
