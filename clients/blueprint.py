"""The one Durable blueprint of clients/: each endpoint module registers its functions on it."""

import azure.durable_functions as df

bp = df.Blueprint()
