// Conference-trip booking on Azure Functions Flex Consumption with Durable Functions.
// Subscription scope so that `azd up` (or `az deployment sub create`) creates the resource
// group too: one command from an empty subscription to a running app.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; names the resource group and seeds every resource name.')
param environmentName string

@minLength(1)
@description('Azure region for every resource; it must offer Flex Consumption.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@secure()
@minLength(16)
@description('Standard Webhooks signing secret shared with the payment provider (whsec_<base64>). Stored only in Key Vault.')
param paymentWebhookSecret string

@description('Base URL of the conference ticketing API (CONFERENCE_API_URL).')
param conferenceApiUrl string

@description('Base URL of the airline API (AIRLINE_API_URL).')
param airlineApiUrl string

@description('Base URL of the rail API (RAIL_API_URL).')
param railApiUrl string

@description('Base URL of the hotel API (HOTEL_API_URL).')
param hotelApiUrl string

@description('Base URL of the payment provider API (PAYMENT_API_URL).')
param paymentApiUrl string

@description('Base URL of the expense reporting API (EXPENSE_API_URL).')
param expenseApiUrl string

@minLength(3)
@maxLength(45)
@description('Durable Functions task hub name (TASKHUB_NAME): letters and digits, starting with a letter.')
param taskHubName string = 'TripBookings'

@description('Version new orchestrations get (host.json defaultVersion, set per deployment); orchestrators branch on context.version.')
param orchestrationVersion string = '3.0'

@minValue(60)
@description('Seconds a booking waits for the payment outcome before it expires (PAYMENT_TIMEOUT_SECONDS).')
param paymentTimeoutSeconds int = 900

@minValue(1)
@description('First retry interval for supplier calls in milliseconds (SUPPLIER_RETRY_FIRST_INTERVAL_MS).')
param supplierRetryFirstIntervalMs int = 1000

@description('Backoff multiplier for supplier retries as a decimal string (SUPPLIER_RETRY_BACKOFF).')
param supplierRetryBackoff string = '2.0'

@minValue(1)
@description('Cap on the supplier retry interval in milliseconds (SUPPLIER_RETRY_MAX_INTERVAL_MS).')
param supplierRetryMaxIntervalMs int = 60000

@minValue(1)
@description('Attempts per supplier call, the first one included (SUPPLIER_RETRY_MAX_ATTEMPTS).')
param supplierRetryMaxAttempts int = 5

@description('Public base URL for payment callbacks (PUBLIC_BASE_URL); empty means the app\'s own https host name.')
param publicBaseUrl string = ''

@minValue(1)
@maxValue(1000)
@description('Most instances Flex Consumption may scale the app out to.')
param maximumInstanceCount int = 100

@allowed([
  512
  2048
  4096
])
@description('Memory of each Flex Consumption instance in MB.')
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(32)
@description('Python worker threads per instance (PYTHON_THREADPOOL_THREAD_COUNT); at least host.json\'s maxConcurrentActivityFunctions + maxConcurrentOrchestratorFunctions.')
param pythonThreadpoolThreadCount int = 24

var abbrs = loadJsonContent('./abbreviations.json')
// Same environment, subscription and region: same names, so a second `azd up` updates in place.
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
// Named after the app, so two apps sharing an account never overwrite each other's package.
var deploymentContainerName = 'app-package-${functionAppName}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity './app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage './app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    principalId: identity.outputs.principalId
  }
}

module monitoring './app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
  }
}

module keyVault './app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    paymentWebhookSecret: paymentWebhookSecret
  }
}

// Takes the other modules' outputs, so it deploys after their role assignments: the host's
// first start already has its storage, telemetry and Key Vault permissions.
module functionApp './app/function.bicep' = {
  name: 'function'
  scope: rg
  params: {
    planName: '${abbrs.webServerFarms}${resourceToken}'
    name: functionAppName
    location: location
    tags: tags
    serviceName: 'api'
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    paymentWebhookSecretUri: keyVault.outputs.webhookSecretUri
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    pythonThreadpoolThreadCount: pythonThreadpoolThreadCount
    publicBaseUrl: publicBaseUrl
    conferenceApiUrl: conferenceApiUrl
    airlineApiUrl: airlineApiUrl
    railApiUrl: railApiUrl
    hotelApiUrl: hotelApiUrl
    paymentApiUrl: paymentApiUrl
    expenseApiUrl: expenseApiUrl
    taskHubName: taskHubName
    orchestrationVersion: orchestrationVersion
    paymentTimeoutSeconds: paymentTimeoutSeconds
    supplierRetryFirstIntervalMs: supplierRetryFirstIntervalMs
    supplierRetryBackoff: supplierRetryBackoff
    supplierRetryMaxIntervalMs: supplierRetryMaxIntervalMs
    supplierRetryMaxAttempts: supplierRetryMaxAttempts
  }
}

// azd stores these in the environment's .env; none of them is a secret.
@description('Region of the deployment.')
output AZURE_LOCATION string = location

@description('Tenant of the subscription.')
output AZURE_TENANT_ID string = tenant().tenantId

@description('Resource group holding everything.')
output AZURE_RESOURCE_GROUP string = rg.name

@description('Name of the function app (what func azure functionapp publish and the deploy workflow target).')
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name

@description('HTTPS base URL of the function app.')
output SERVICE_API_URI string = functionApp.outputs.uri

@description('Client id of the app\'s user-assigned identity.')
output AZURE_USER_ASSIGNED_IDENTITY_CLIENT_ID string = identity.outputs.clientId

@description('Storage account of the task hub.')
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name

@description('Key Vault holding the payment webhook secret.')
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name

@description('Key Vault URI.')
output AZURE_KEY_VAULT_ENDPOINT string = keyVault.outputs.endpoint

@description('Application Insights component.')
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName

@description('Durable Functions task hub name.')
output TASKHUB_NAME string = taskHubName
