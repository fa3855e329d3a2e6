"""The orchestrators' blueprint, in its own module so the orchestrator modules can register on it."""

import azure.durable_functions as df

bp = df.Blueprint()
