// Least-privilege role assignments, each scoped to the one resource it is about.

@description('Name of the function app\'s user-assigned identity.')
param identityName string

@description('Principal id of whoever deploys, so they can put the Maskinporten key into Key Vault. Empty: none.')
param deployerPrincipalId string

@allowed(['User', 'Group', 'ServicePrincipal'])
param deployerPrincipalType string

@description('Principal id of whoever runs the CLI against Azure (poison list/replay/purge, reconcile). Empty: none.')
param operatorPrincipalId string

@allowed(['User', 'Group', 'ServicePrincipal'])
param operatorPrincipalType string

param storageAccountName string
param keyVaultName string
param insightsName string

@description('The container downloads go to (BLOB_CONTAINER): the only container the operator may touch.')
param downloadContainerName string

@description('The receiver\'s queues (lib/queue/names.ts): the only queues the operator may touch.')
param queueNames string[]

// Built-in role definition ids (the same in every tenant).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: identityName
}

// Names are built from resource ids known before deployment, so what-if can predict them.
var appPrincipalId = identity.properties.principalId

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' existing = {
  name: keyVaultName
}

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: insightsName
}

// The app's identity, on the account: the host creates and leases blobs in containers of its own at run
// time (azure-webjobs-hosts: timer singletons, function keys) and reads the deployment package, so Blob
// Data Owner (Microsoft's documented role for an identity-based AzureWebJobsStorage); Queue Data
// Contributor: the queue trigger and our senders (createIfNotExists); Table Data Contributor: the host's
// diagnostic events (AzureWebJobsStorage__tableServiceUri). It is the only principal that can write the
// deployment container: whoever can write there runs code as this identity.
resource storageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in [storageBlobDataOwner, storageQueueDataContributor, storageTableDataContributor]: {
    name: guid(storage.id, identity.id, role)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
      principalId: appPrincipalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' existing = {
  parent: storage
  name: 'default'
}

resource downloads 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' existing = {
  parent: blobService
  name: downloadContainerName
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-01-01' existing = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' existing = [
  for queue in queueNames: {
    parent: queueService
    name: queue
  }
]

// The operator's CLI (DefaultAzureCredential): `status`, `held` and `reconcile` read, write and lease blobs
// in the download container only; `status`, `poison` and `held` peek, receive, send and delete messages
// on the receiver's queues only. Never the account: it holds the deployment container (the app's code)
// and the host's own containers (function keys).
resource operatorContainer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(downloads.id, operatorPrincipalId, storageBlobDataContributor)
  scope: downloads
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

resource operatorQueues 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for i in range(0, empty(operatorPrincipalId) ? 0 : length(queueNames)): {
    name: guid(queues[i].id, operatorPrincipalId, storageQueueDataContributor)
    scope: queues[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributor)
      principalId: operatorPrincipalId
      principalType: operatorPrincipalType
    }
  }
]

// Read-only secrets access, for the MASKINPORTEN_KEY Key Vault reference.
resource vaultReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource vaultWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(vault.id, deployerPrincipalId, keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

// Entra-authenticated telemetry (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
resource telemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, identity.id, monitoringMetricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}
