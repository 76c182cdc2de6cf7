// Holds the Maskinporten private key (and certificate, when one is used). RBAC mode, so access is
// granted by role assignment (roles.bicep) rather than vault access policies.

param name string
param location string
param tags { *: string }

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
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
