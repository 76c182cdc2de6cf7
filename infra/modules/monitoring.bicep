// Application Insights on a Log Analytics workspace. Local (key-based) auth is off on both: the app
// sends telemetry with its identity (Monitoring Metrics Publisher, see roles.bicep).

param workspaceName string
param insightsName string
param location string
param tags { *: string }

@description('Days Log Analytics keeps the logs.')
param retentionInDays int

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-02-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: retentionInDays
    features: { disableLocalAuth: true }
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: insightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
  }
}

output insightsName string = insights.name
// Not a secret: with local auth disabled, ingestion needs an Entra token as well.
output insightsConnectionString string = insights.properties.ConnectionString
