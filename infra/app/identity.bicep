// The one identity the function app uses for everything: storage, Key Vault, App Insights.
// User-assigned rather than system-assigned so that role assignments can be granted before
// the site exists: the host must reach its storage on first start, with no key to fall back on.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region for the identity.')
param location string

@description('Tags applied to the identity (carries azd-env-name).')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

@description('Resource id, used for the site identity, deployment storage and Key Vault references.')
output id string = identity.id

@description('Client id, which the Functions host and SDKs use to pick this identity.')
output clientId string = identity.properties.clientId

@description('Object id of the service principal, the subject of every role assignment.')
output principalId string = identity.properties.principalId

@description('Name of the identity.')
output name string = identity.name
