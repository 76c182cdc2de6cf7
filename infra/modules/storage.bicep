// The one storage account: the Functions host (AzureWebJobsStorage), the deployment package, our queues
// and the download container. Shared keys are disabled: everything signs in with Entra ID.

param name string
param location string
param tags { *: string }

@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS'])
param skuName string

@description('Container Flex Consumption deploys the app package to.')
param deploymentContainerName string

@description('Container the downloaded instances are written to (BLOB_CONTAINER).')
param downloadContainerName string

@description('Queues the app reads and writes (lib/queue/names.ts).')
param queueNames string[]

@description('Days a deleted blob or container can be restored.')
param deleteRetentionDays int

@description('Days an overwritten or deleted blob version is kept (blob versioning) before lifecycle management removes it.')
param versionRetentionDays int

@description('Private endpoints only (vnetEnabled): no public network access, except from allowedIpRanges.')
param privateOnly bool

@description('With privateOnly: CIDR ranges that may still reach the account over its public endpoint (operators). Empty: public network access disabled.')
param allowedIpRanges string[]

// Storage firewall rules take a single address without /32.
var ipRules = map(allowedIpRanges, r => { value: endsWith(r, '/32') ? split(r, '/')[0] : r, action: 'Allow' })

resource account 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: skuName }
  properties: {
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    accessTier: 'Hot'
    // Without a virtual network the app reaches storage from Flex Consumption's shared outbound addresses.
    publicNetworkAccess: privateOnly && empty(allowedIpRanges) ? 'Disabled' : 'Enabled'
    networkAcls: privateOnly
      ? { defaultAction: 'Deny', bypass: 'None', ipRules: ipRules }
      : { defaultAction: 'Allow', bypass: 'AzureServices' }
  }

  resource blobService 'blobServices' = {
    name: 'default'
    properties: {
      deleteRetentionPolicy: { enabled: true, days: deleteRetentionDays }
      containerDeleteRetentionPolicy: { enabled: true, days: deleteRetentionDays }
      // Every overwrite or delete of a stored submission keeps the previous bytes as a version.
      isVersioningEnabled: true
    }

    resource containers 'containers' = [
      for container in [deploymentContainerName, downloadContainerName]: {
        name: container
        properties: { publicAccess: 'None' }
      }
    ]
  }

  resource versionRetention 'managementPolicies' = {
    name: 'default'
    properties: {
      policy: {
        rules: [
          {
            name: 'expire-previous-versions'
            enabled: true
            type: 'Lifecycle'
            definition: {
              filters: { blobTypes: ['blockBlob'] }
              actions: { version: { delete: { daysAfterCreationGreaterThan: versionRetentionDays } } }
            }
          }
        ]
      }
    }
  }

  resource queueService 'queueServices' = {
    name: 'default'

    resource queues 'queues' = [
      for queue in queueNames: {
        name: queue
      }
    ]
  }
}

output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
