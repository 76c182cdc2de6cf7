// vnetEnabled: a virtual network the function app is integrated into, and private endpoints that bring the
// storage account (blob, queue, table) and Key Vault into it, each with its private DNS zone, so both can
// turn public network access off (storage.bicep, keyVault.bicep). As Azure's Flex Consumption quickstart
// does it (Azure-Samples/functions-quickstart-javascript-azd: infra/app/vnet.bicep, storage-PrivateEndpoint.bicep).

param name string
param location string
param tags { *: string }
param storageAccountName string
param keyVaultName string

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' existing = {
  name: keyVaultName
}

resource vnet 'Microsoft.Network/virtualNetworks@2025-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: ['10.0.0.0/16'] }
    subnets: [
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: '10.0.1.0/24'
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
      {
        // Flex Consumption integrates into a subnet delegated to Microsoft.App/environments.
        name: 'app'
        properties: {
          addressPrefix: '10.0.2.0/24'
          delegations: [{ name: 'flex', properties: { serviceName: 'Microsoft.App/environments' } }]
        }
      }
    ]
  }
}

var endpoints = [
  { group: 'blob', target: storage.id, zone: 'privatelink.blob.${environment().suffixes.storage}' }
  { group: 'queue', target: storage.id, zone: 'privatelink.queue.${environment().suffixes.storage}' }
  { group: 'table', target: storage.id, zone: 'privatelink.table.${environment().suffixes.storage}' }
  // environment().suffixes.keyvaultDns is '.vault.azure.net' (public cloud): its private link zone is 'privatelink.vaultcore.azure.net'.
  { group: 'vault', target: vault.id, zone: 'privatelink${replace(environment().suffixes.keyvaultDns, '.vault.', '.vaultcore.')}' }
]

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for e in endpoints: {
    name: e.zone
    location: 'global'
    tags: tags
  }
]

resource links 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (e, i) in endpoints: {
    parent: zones[i]
    name: '${name}-link'
    location: 'global'
    tags: tags
    properties: {
      virtualNetwork: { id: vnet.id }
      registrationEnabled: false
    }
  }
]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2025-05-01' = [
  for e in endpoints: {
    name: 'pe-${e.group}-${name}'
    location: location
    tags: tags
    properties: {
      subnet: { id: vnet.properties.subnets[0].id }
      privateLinkServiceConnections: [
        {
          name: e.group
          properties: { privateLinkServiceId: e.target, groupIds: [e.group] }
        }
      ]
    }
  }
]

resource zoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2025-05-01' = [
  for (e, i) in endpoints: {
    parent: privateEndpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [{ name: e.group, properties: { privateDnsZoneId: zones[i].id } }]
    }
  }
]

output appSubnetId string = vnet.properties.subnets[1].id
