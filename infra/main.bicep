// altinn-receiver in Azure: `azd up` (or `az deployment sub create -f infra/main.bicep`). See README "Deploy to Azure".
targetScope = 'subscription'

import { Tuning } from 'modules/functionApp.bicep'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds the unique resource names.')
param environmentName string

@minLength(1)
@description('Azure region of every resource; only regions offering the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
// azd offers only these regions when it asks for one.
@metadata({ azd: { type: 'location' } })
param location string

@description('Object id of the deploying user (azd sets AZURE_PRINCIPAL_ID); gets Key Vault Secrets Officer to store the key. Empty: nobody.')
param principalId string = ''

@allowed(['User', 'Group', 'ServicePrincipal'])
param principalType string = 'User'

@description('Object id of whoever runs the CLI against Azure (status, held, poison, reconcile): gets Storage Blob Data Contributor on the download container and Storage Queue Data Contributor on the receiver\'s queues, nothing else. Empty: nobody.')
param operatorPrincipalId string = ''

@allowed(['User', 'Group', 'ServicePrincipal'])
param operatorPrincipalType string = 'User'

@allowed(['tt02', 'production'])
@description('Altinn environment (ALTINN_ENV): picks the Maskinporten and Altinn URLs and the Altinn Events address.')
param altinnEnv string = 'tt02'

@minLength(2)
@description('Your service owner org code (ALTINN_ORG), e.g. ttd.')
param altinnOrg string

@description('Comma list of app names to process (ALTINN_APPS); empty: every app of the org.')
param altinnApps string = ''

@description('Comma list of event types that start a download (ALTINN_EVENT_TYPES); empty: app.instance.process.completed.')
param altinnEventTypes string = ''

@description('Comma list of data types to download (ALTINN_DATA_TYPES); empty: all.')
param altinnDataTypes string = ''

@minLength(1)
@description('Maskinporten client id (MASKINPORTEN_CLIENT_ID).')
param maskinportenClientId string

@description('Key id registered in Maskinporten (MASKINPORTEN_KID). Empty: sign with a virksomhetssertifikat, read from the Key Vault secret maskinporten-certificate.')
param maskinportenKid string = ''

@description('Space-separated scopes (MASKINPORTEN_SCOPES); empty: altinn:serviceowner/instances.read and .write.')
param maskinportenScopes string = ''

@description('Org number when acting as a supplier (MASKINPORTEN_CONSUMER_ORG); empty: none.')
param maskinportenConsumerOrg string = ''

@description('Rarely changed settings (download concurrency, reconcile schedule, ...); omitted ones take their defaults.')
param tuning Tuning = {}

@description('Only Altinn Events\' egress address for altinnEnv (and allowedCidrs) may reach the app: on by default. Access restrictions cover the whole site, /api/health too.')
param restrictToAltinn bool = true

@description('CIDR ranges also allowed in when restrictToAltinn is on, e.g. your monitoring, so /api/health stays reachable (azd: ALLOWED_CIDRS=\'["203.0.113.7/32"]\').')
param allowedCidrs string[] = []

@description('Also allow Application Insights availability tests in when restrictToAltinn is on.')
param allowAvailabilityTests bool = false

@description('A virtual network with private endpoints for storage and Key Vault, whose public network access is then disabled: on by default, as in Azure\'s Flex Consumption quickstart.')
param vnetEnabled bool = true

@description('With vnetEnabled: CIDR ranges that may still reach storage and Key Vault over their public endpoints (the operator running the CLI, whoever stores the key). Empty: no public network access at all.')
param operatorCidrs string[] = []

@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS'])
param storageSku string = 'Standard_LRS'

@minValue(1)
@maxValue(1000)
@description('Upper bound of Flex Consumption instances; it also bounds the load put on Altinn.')
param maximumInstanceCount int = 40

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

@description('E-mail address for the alert rules (ALERT_EMAIL); empty: an action group without receivers.')
param alertEmail string = ''

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var deploymentContainerName = 'app-package'
// lib/config.ts's default BLOB_CONTAINER; set explicitly below so the app and this container agree.
var downloadContainerName = 'altinn-instances'
// lib/queue/names.ts
var queueNames = ['altinn-events', 'altinn-events-poison', 'altinn-instances-ready', 'altinn-instances-held']
var names = {
  identity: 'id-${resourceToken}'
  storage: 'st${resourceToken}'
  keyVault: 'kv-${resourceToken}'
  workspace: 'log-${resourceToken}'
  insights: 'appi-${resourceToken}'
  plan: 'plan-${resourceToken}'
  functionApp: 'func-${resourceToken}'
  vnet: 'vnet-${resourceToken}'
}
var keySecretName = 'maskinporten-key'
var certificateSecretName = 'maskinporten-certificate'

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  scope: rg
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  scope: rg
  params: {
    name: names.storage
    location: location
    tags: tags
    skuName: storageSku
    deploymentContainerName: deploymentContainerName
    downloadContainerName: downloadContainerName
    queueNames: queueNames
    deleteRetentionDays: 7
    versionRetentionDays: 30
    privateOnly: vnetEnabled
    allowedIpRanges: operatorCidrs
  }
}

module keyVault 'modules/keyVault.bicep' = {
  scope: rg
  params: {
    name: names.keyVault
    location: location
    tags: tags
    privateOnly: vnetEnabled
    allowedIpRanges: operatorCidrs
  }
}

module network 'modules/network.bicep' = if (vnetEnabled) {
  scope: rg
  dependsOn: [storage, keyVault]
  params: {
    name: names.vnet
    location: location
    tags: tags
    storageAccountName: names.storage
    keyVaultName: names.keyVault
  }
}

module monitoring 'modules/monitoring.bicep' = {
  scope: rg
  params: {
    workspaceName: names.workspace
    insightsName: names.insights
    location: location
    tags: tags
    retentionInDays: logRetentionDays
  }
}

module roles 'modules/roles.bicep' = {
  scope: rg
  dependsOn: [identity, storage, keyVault, monitoring]
  params: {
    identityName: names.identity
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
    operatorPrincipalId: operatorPrincipalId
    operatorPrincipalType: operatorPrincipalType
    storageAccountName: names.storage
    keyVaultName: names.keyVault
    insightsName: names.insights
    downloadContainerName: downloadContainerName
    queueNames: queueNames
  }
}

module functionApp 'modules/functionApp.bicep' = {
  scope: rg
  // The host reaches storage with its identity as soon as it starts: roles first (and, through the
  // subnet id, the private endpoints).
  dependsOn: [roles]
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: deploymentContainerName
    downloadContainerName: downloadContainerName
    insightsConnectionString: monitoring.outputs.insightsConnectionString
    keyVaultUri: keyVault.outputs.uri
    keySecretName: keySecretName
    certificateSecretName: certificateSecretName
    altinnEnv: altinnEnv
    altinnOrg: altinnOrg
    altinnApps: altinnApps
    altinnEventTypes: altinnEventTypes
    altinnDataTypes: altinnDataTypes
    maskinportenClientId: maskinportenClientId
    maskinportenKid: maskinportenKid
    maskinportenScopes: maskinportenScopes
    maskinportenConsumerOrg: maskinportenConsumerOrg
    tuning: tuning
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    restrictToAltinn: restrictToAltinn
    allowedCidrs: allowedCidrs
    allowAvailabilityTests: allowAvailabilityTests
    virtualNetworkSubnetId: vnetEnabled ? network!.outputs.appSubnetId : ''
  }
}

module alerts 'modules/alerts.bicep' = {
  scope: rg
  dependsOn: [monitoring]
  params: {
    insightsName: names.insights
    location: location
    tags: tags
    namePrefix: environmentName
    alertEmail: alertEmail
  }
}

// The operators' workbook (modules/workbook.bicep): charts of the same log lines the alerts read.
module workbook 'modules/workbook.bicep' = {
  scope: rg
  dependsOn: [monitoring]
  params: {
    insightsName: names.insights
    location: location
    tags: tags
    namePrefix: environmentName
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
@description('The CLI reaches this account with AzureWebJobsStorage__accountName and your Azure sign-in (DefaultAzureCredential).')
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
@description('The endpoint to subscribe with, without the key: append ?code=<function key>.')
output WEBHOOK_URL string = 'https://${functionApp.outputs.defaultHostName}/api/events'
output HEALTH_URL string = 'https://${functionApp.outputs.defaultHostName}/api/health'
@description('Prints the function key of the webhook (never stored in outputs or logs).')
output FUNCTION_KEY_COMMAND string = 'az functionapp function keys list --resource-group ${rg.name} --name ${functionApp.outputs.name} --function-name eventsReceiver --query default --output tsv'
output KEY_VAULT_SECRET_COMMAND string = 'az keyvault secret set --vault-name ${keyVault.outputs.name} --name ${keySecretName} --file <path outside the project folder, e.g. ~/secrets/maskinporten-key.pem>'
