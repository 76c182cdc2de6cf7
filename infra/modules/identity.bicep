// The user-assigned identity the function app runs as: it exists before the app, so its roles are in
// place by the time the host first reaches storage, Key Vault and Application Insights.

@description('Name of the identity.')
param name string

param location string
param tags { *: string }

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
