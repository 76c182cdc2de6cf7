// Holds the Maskinporten private key (and certificate, when one is used). RBAC mode, so access is
// granted by role assignment (roles.bicep) rather than vault access policies.

param name string
param location string
param tags { *: string }

@description('Private endpoint only (vnetEnabled): no public network access, except from allowedIpRanges.')
param privateOnly bool

@description('With privateOnly: CIDR ranges that may still reach the vault over its public endpoint (whoever stores the key). Empty: public network access disabled.')
param allowedIpRanges string[]

var ipRules = map(allowedIpRanges, r => { value: r })

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: privateOnly && empty(allowedIpRanges) ? 'Disabled' : 'Enabled'
    networkAcls: privateOnly
      ? { defaultAction: 'Deny', bypass: 'None', ipRules: ipRules }
      : { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
