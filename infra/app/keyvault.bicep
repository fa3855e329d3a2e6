// Key Vault holding the payment provider's webhook signing secret. The app never sees the value
// in its configuration: its app setting is a Key Vault reference resolved by the platform with
// the user-assigned identity, which may read this one secret and nothing else.

@description('Name of the Key Vault (3-24 letters, digits and hyphens).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region for the Key Vault.')
param location string

@description('Tags applied to the Key Vault (carries azd-env-name).')
param tags object

@description('Object id of the function app identity, allowed to read the webhook secret.')
param principalId string

@secure()
@description('Standard Webhooks signing secret shared with the payment provider (whsec_<base64>).')
@minLength(16)
param paymentWebhookSecret string

@description('Name of the secret in the vault.')
param paymentWebhookSecretName string = 'payment-webhook-secret'

// Key Vault Secrets User: read secret values, nothing else.
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    // Azure RBAC instead of access policies: access is granted per secret, audited like any role.
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    publicNetworkAccess: 'Enabled'
  }
}

resource webhookSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: paymentWebhookSecretName
  properties: {
    value: paymentWebhookSecret
    contentType: 'Standard Webhooks signing secret (whsec_<base64>)'
  }
}

// Scoped to the secret, not the vault: the app can read only the webhook secret.
resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(webhookSecret.id, principalId, keyVaultSecretsUserRoleId)
  scope: webhookSecret
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

@description('Name of the Key Vault.')
output name string = vault.name

@description('Vault URI.')
output endpoint string = vault.properties.vaultUri

@description('Versionless URI of the webhook secret: the app always resolves the latest version.')
output webhookSecretUri string = webhookSecret.properties.secretUri
