"""The Azure Functions app: one DFApp that registers the three blueprints and nothing else.

HTTP edge in clients/, orchestrators in orchestrators/, activities in activities/; every HTTP
function is function-level unless its blueprint says otherwise (webhook, health).
"""

import azure.durable_functions as df
import azure.functions as func

import telemetry
from activities import bp as activities_bp
from clients import bp as clients_bp
from orchestrators import bp as orchestrators_bp

# Once, before any function runs: exporters from the settings, one log line format (telemetry/).
telemetry.configure()

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(clients_bp)
app.register_functions(orchestrators_bp)
app.register_functions(activities_bp)
