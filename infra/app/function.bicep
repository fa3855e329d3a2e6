// The Flex Consumption plan and the Python function app that runs function_app.py with Durable
// Functions. Every connection is identity-based: storage, Key Vault and Application Insights
// are reached with the user-assigned identity, never with keys or connection secrets.

@description('Name of the Flex Consumption plan.')
param planName string

@description('Name of the function app.')
param name string

@description('Azure region for the plan and the app.')
param location string

@description('Tags applied to the plan and the app (carries azd-env-name).')
param tags object

@description('azd service name from azure.yaml; azd finds the app to deploy by this tag.')
param serviceName string = 'api'

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of the user-assigned identity, used by the host and the App Insights SDK to pick it.')
param identityClientId string

@description('Name of the storage account holding the task hub and the deployment package.')
param storageAccountName string

@description('Blob container that receives the app package.')
param deploymentContainerName string

@description('Name of the Application Insights component the app reports to.')
param applicationInsightsName string

@description('Versionless Key Vault URI of the payment webhook secret (a URI, not the secret).')
param paymentWebhookSecretUri string

@description('Python version of the Functions runtime.')
@allowed([
  '3.11'
])
param pythonVersion string = '3.11'

@description('Most instances Flex Consumption may scale the app out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory of each instance in MB; CPU and network bandwidth grow with it.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Threads of the Python worker for synchronous functions (orchestrators, entities, sync activities).')
@minValue(1)
@maxValue(32)
param pythonThreadpoolThreadCount int = 24

@description('Base URL of the conference ticketing API.')
param conferenceApiUrl string

@description('Base URL of the airline API.')
param airlineApiUrl string

@description('Base URL of the rail API.')
param railApiUrl string

@description('Base URL of the hotel API.')
param hotelApiUrl string

@description('Base URL of the payment provider API.')
param paymentApiUrl string

@description('Base URL of the expense reporting API.')
param expenseApiUrl string

@description('Durable Functions task hub name, substituted into host.json as %TASKHUB_NAME%.')
@minLength(3)
@maxLength(45)
param taskHubName string

@description('Version new orchestrations get: host.json defaultVersion, set per deployment.')
param orchestrationVersion string

@description('Seconds a booking waits for the payment outcome before it expires.')
@minValue(60)
param paymentTimeoutSeconds int

@description('First retry interval for supplier calls, in milliseconds.')
@minValue(1)
param supplierRetryFirstIntervalMs int

@description('Multiplier applied to the retry interval after each failed supplier call (a decimal string such as 2.0).')
param supplierRetryBackoff string

@description('Cap on the retry interval for supplier calls, in milliseconds.')
@minValue(1)
param supplierRetryMaxIntervalMs int

@description('Attempts per supplier call, the first one included.')
@minValue(1)
param supplierRetryMaxAttempts int

@description('Public base URL of the app for payment callbacks; empty means the app\'s own https host name.')
param publicBaseUrl string = ''

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    // Flex Consumption runs on Linux only.
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with the user-assigned identity; without this the platform
    // would try a system-assigned identity the app does not have.
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
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
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

// Deployments authenticate with Entra ID (azd, func, OIDC in GitHub Actions); no publishing passwords.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

// Flex Consumption sets the runtime from functionAppConfig and rejects FUNCTIONS_WORKER_RUNTIME,
// FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE and FUNCTIONS_WORKER_PROCESS_COUNT as
// app settings, so none of them appear.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    // Identity-based host storage: one URI per service because Durable Functions needs all
    // three (blobs for leases, queues for messages, tables for history and instances).
    AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
    AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
    AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId

    // The connection string only routes telemetry; with DisableLocalAuth on the component, the
    // authentication string makes the SDK send an Entra token of the user-assigned identity.
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'

    // Resolved by the platform with keyVaultReferenceIdentity; the value never leaves Key Vault
    // in templates, deployment history or outputs.
    PAYMENT_WEBHOOK_SECRET: '@Microsoft.KeyVault(SecretUri=${paymentWebhookSecretUri})'

    // Flex runs exactly one Python worker process per instance (FUNCTIONS_WORKER_PROCESS_COUNT
    // is not allowed there), so parallel work inside an instance comes from the worker's thread
    // pool for sync functions (Durable orchestrators are sync generators, and so is any sync
    // activity) and from its event loop for async ones. Left unset the pool is CPU count + 4,
    // which on a small instance would run a fan-out a few activities at a time whatever
    // host.json allows; so it is at least host.json's maxConcurrentActivityFunctions plus
    // maxConcurrentOrchestratorFunctions (tests/infra checks that), and Flex adds instances for
    // the rest.
    PYTHON_THREADPOOL_THREAD_COUNT: string(pythonThreadpoolThreadCount)

    // The payment provider calls back here; by default the app's own host name.
    PUBLIC_BASE_URL: empty(publicBaseUrl) ? 'https://${functionApp.properties.defaultHostName}' : publicBaseUrl

    // What the application reads (see booking-api.md, "App settings").
    CONFERENCE_API_URL: conferenceApiUrl
    AIRLINE_API_URL: airlineApiUrl
    RAIL_API_URL: railApiUrl
    HOTEL_API_URL: hotelApiUrl
    PAYMENT_API_URL: paymentApiUrl
    EXPENSE_API_URL: expenseApiUrl
    TASKHUB_NAME: taskHubName
    // host.json's extensions.durableTask.defaultVersion, overridden per deployment (README, "Changing an
    // orchestrator safely").
    AzureFunctionsJobHost__extensions__durableTask__defaultVersion: orchestrationVersion
    PAYMENT_TIMEOUT_SECONDS: string(paymentTimeoutSeconds)
    SUPPLIER_RETRY_FIRST_INTERVAL_MS: string(supplierRetryFirstIntervalMs)
    SUPPLIER_RETRY_BACKOFF: supplierRetryBackoff
    SUPPLIER_RETRY_MAX_INTERVAL_MS: string(supplierRetryMaxIntervalMs)
    SUPPLIER_RETRY_MAX_ATTEMPTS: string(supplierRetryMaxAttempts)
    // The supplier circuit breaker (booking-api.md): the app's production defaults.
    CIRCUIT_FAILURE_THRESHOLD: '5'
    CIRCUIT_WINDOW_SECONDS: '60'
    CIRCUIT_COOLDOWN_SECONDS: '30'
  }
}

@description('Name of the function app.')
output name string = functionApp.name

@description('HTTPS base URL of the function app.')
output uri string = 'https://${functionApp.properties.defaultHostName}'
