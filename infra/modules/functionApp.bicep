// The function app on the Flex Consumption plan (Linux, Node 22) and every setting lib/config.ts reads.
// Secrets never appear here: MASKINPORTEN_KEY (and MASKINPORTEN_CERTIFICATE) are Key Vault references
// resolved by the platform with the app's identity.

@export()
@description('Optional settings of lib/config.ts; an omitted or empty one takes the default documented in the README.')
type Tuning = {
  ALTINN_SUBSTATUS_LABEL: string?
  MASKINPORTEN_ALG: ('RS256' | 'RS384' | 'RS512')?
  TOKEN_REFRESH_MARGIN_SECONDS: string?
  DOWNLOAD_CONCURRENCY: string?
  CONFIRM_ON_INFECTED: ('true' | 'false')?
  RECONCILE_SCHEDULE: string?
  RECONCILE_SINCE: string?
  RECONCILE_PAGE_SIZE: string?
  RECONCILE_WINDOW: string?
  RECONCILE_MAX_PAGES: string?
  RECONCILE_MAX_SECONDS: string?
  MONITOR_SCHEDULE: string?
  UNCONFIRMED_LIMIT_MINUTES: string?
  FEED_ENABLED: ('true' | 'false')?
  FEED_SCHEDULE: string?
  FEED_LOOKBACK_HOURS: string?
  FEED_PAGE_SIZE: string?
  FEED_MIN_AGE_SECONDS: string?
}

param name string
param planName string
param location string
param tags { *: string }

@description('Resource id and client id of the user-assigned identity the app runs as.')
param identityId string
param identityClientId string

param storageAccountName string
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string
param deploymentContainerName string
param downloadContainerName string

param insightsConnectionString string
param keyVaultUri string

@description('Key Vault secret holding the Maskinporten private key (PEM or JWK).')
param keySecretName string

@description('Key Vault secret holding the virksomhetssertifikat chain (PEM); used only when maskinportenKid is empty.')
param certificateSecretName string

@allowed(['tt02', 'production'])
param altinnEnv string
param altinnOrg string
param altinnApps string
param altinnEventTypes string
param altinnDataTypes string
param maskinportenClientId string
param maskinportenKid string
param maskinportenScopes string
param maskinportenConsumerOrg string
param tuning Tuning

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@allowed([512, 2048, 4096])
param instanceMemoryMB int

@description('Allow only Altinn Events\' outbound address (plus the ranges below) to reach the app. Applies to the whole site.')
param restrictToAltinn bool

@description('Extra CIDR ranges allowed in when restrictToAltinn is on (e.g. your monitoring or office), so /api/health stays reachable from them.')
param allowedCidrs string[]

@description('Subnet (delegated to Microsoft.App/environments) the app is integrated into; empty: none.')
param virtualNetworkSubnetId string

@description('Also allow Application Insights availability tests (service tag) in when restrictToAltinn is on.')
param allowAvailabilityTests bool

// Altinn Events' static outbound addresses, per environment, as Altinn publishes them
// (Altinn/altinn-studio-docs: content/events/subscribe-to-events/_index.nb.md, "IP for utgående trafikk").
var altinnOutboundIps = {
  tt02: '20.100.24.41/32'
  production: '20.100.46.139/32'
}

var accessRules = concat(
  [
    {
      name: 'altinn-events'
      description: 'Altinn Events (${altinnEnv}) calling /api/events'
      ipAddress: altinnOutboundIps[altinnEnv]
      action: 'Allow'
      priority: 100
    }
  ],
  map(range(0, length(allowedCidrs)), i => {
    name: 'allowed-${i}'
    description: 'allowedCidrs[${i}]'
    ipAddress: allowedCidrs[i]
    action: 'Allow'
    priority: 200 + i
  }),
  allowAvailabilityTests
    ? [
        {
          name: 'availability-tests'
          description: 'Application Insights availability tests calling /api/health'
          tag: 'ServiceTag'
          ipAddress: 'ApplicationInsightsAvailability'
          action: 'Allow'
          priority: 900
        }
      ]
    : []
)

var useCertificate = empty(maskinportenKid)

// A tuning value that is missing OR empty takes the default: `??` alone keeps an empty string.
func orDefault(value string?, fallback string) string => empty(value ?? '') ? fallback : value!

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  // azd finds the app to deploy to by this tag (service "api" in azure.yaml).
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    // vnetEnabled: outbound traffic (storage, Key Vault references) goes through the private endpoints.
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    // No ftpsState: Flex Consumption rejects it; FTP is off through basicPublishingCredentialsPolicies below.
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
      ipSecurityRestrictionsDefaultAction: restrictToAltinn ? 'Deny' : 'Allow'
      ipSecurityRestrictions: restrictToAltinn ? accessRules : []
      // Deployment (azd, the SCM site) signs in with Entra ID and is not limited to Altinn's address.
      scmIpSecurityRestrictionsUseMain: false
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }

  // Basic (user name + password) publishing off for both FTP and the SCM site.
  resource ftp 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    properties: { allow: false }
  }

  resource scm 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: { allow: false }
  }

  resource appSettings 'config' = {
    name: 'appsettings'
    properties: {
      // The host's storage, identity-based (lib/azure/storageConnection.ts reads the same settings).
      AzureWebJobsStorage__accountName: storageAccountName
      AzureWebJobsStorage__blobServiceUri: blobEndpoint
      AzureWebJobsStorage__queueServiceUri: queueEndpoint
      // The host writes its diagnostic events to Table storage.
      AzureWebJobsStorage__tableServiceUri: tableEndpoint
      AzureWebJobsStorage__credential: 'managedidentity'
      AzureWebJobsStorage__clientId: identityClientId
      APPLICATIONINSIGHTS_CONNECTION_STRING: insightsConnectionString
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
      ALTINN_ENV: altinnEnv
      ALTINN_ORG: altinnOrg
      ALTINN_APPS: altinnApps
      ALTINN_EVENT_TYPES: altinnEventTypes
      ALTINN_DATA_TYPES: altinnDataTypes
      ALTINN_SUBSTATUS_LABEL: tuning.?ALTINN_SUBSTATUS_LABEL ?? ''
      MASKINPORTEN_CLIENT_ID: maskinportenClientId
      MASKINPORTEN_SCOPES: maskinportenScopes
      MASKINPORTEN_KEY: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${keySecretName}/)'
      // Exactly one of the two: an empty setting counts as unset in lib/config.ts.
      MASKINPORTEN_KID: maskinportenKid
      MASKINPORTEN_CERTIFICATE: useCertificate ? '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${certificateSecretName}/)' : ''
      MASKINPORTEN_CONSUMER_ORG: maskinportenConsumerOrg
      MASKINPORTEN_ALG: tuning.?MASKINPORTEN_ALG ?? ''
      TOKEN_REFRESH_MARGIN_SECONDS: tuning.?TOKEN_REFRESH_MARGIN_SECONDS ?? ''
      BLOB_CONTAINER: downloadContainerName
      DOWNLOAD_CONCURRENCY: tuning.?DOWNLOAD_CONCURRENCY ?? ''
      CONFIRM_ON_INFECTED: tuning.?CONFIRM_ON_INFECTED ?? ''
      RECONCILE_SCHEDULE: orDefault(tuning.?RECONCILE_SCHEDULE, '0 */15 * * * *') // the timer binding reads %RECONCILE_SCHEDULE%: it must never be empty
      RECONCILE_SINCE: tuning.?RECONCILE_SINCE ?? ''
      RECONCILE_PAGE_SIZE: tuning.?RECONCILE_PAGE_SIZE ?? ''
      RECONCILE_WINDOW: tuning.?RECONCILE_WINDOW ?? ''
      RECONCILE_MAX_PAGES: tuning.?RECONCILE_MAX_PAGES ?? ''
      RECONCILE_MAX_SECONDS: tuning.?RECONCILE_MAX_SECONDS ?? ''
      MONITOR_SCHEDULE: orDefault(tuning.?MONITOR_SCHEDULE, '0 */5 * * * *') // the monitor timer reads %MONITOR_SCHEDULE%: never empty either
      WEBHOOK_URL: 'https://${site.properties.defaultHostName}/api/events' // what the subscriptions should point at (monitor's drift check)
      UNCONFIRMED_LIMIT_MINUTES: tuning.?UNCONFIRMED_LIMIT_MINUTES ?? ''
      FEED_ENABLED: tuning.?FEED_ENABLED ?? ''
      FEED_SCHEDULE: orDefault(tuning.?FEED_SCHEDULE, '0 */5 * * * *') // the feed timer reads %FEED_SCHEDULE%: never empty either
      FEED_LOOKBACK_HOURS: tuning.?FEED_LOOKBACK_HOURS ?? ''
      FEED_PAGE_SIZE: tuning.?FEED_PAGE_SIZE ?? ''
      FEED_MIN_AGE_SECONDS: tuning.?FEED_MIN_AGE_SECONDS ?? ''
    }
  }
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
