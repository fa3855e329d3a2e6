"""Microsoft's samples-v2 `openai_agents` app, unmodified, under `python -m devhost`, walked as its README
walks it: start the host, POST /api/orchestrators/hello_world, follow statusQueryGetUri to the agent's answer.

Its two outside services have local stand-ins on 127.0.0.1, configured through app settings only:
- identity: the App Service managed identity endpoint (IDENTITY_ENDPOINT / IDENTITY_HEADER), which is where
  the sample's DefaultAzureCredential gets its token when the app runs in Azure Functions;
- model: an Azure OpenAI endpoint (AZURE_OPENAI_ENDPOINT) answering the Responses API call the agent makes,
  which must carry that token.

The orchestrator runs the agent with `Runner.run_sync`, which starts an event loop of its own: it works only
where orchestrator code runs off the host's loop, as in the Python worker (PROTOCOL.md §34). The model call
is an activity (`run_model`), so the instance's history holds it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.support.devhost import devhost_process

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "openai_agents"
HAIKU = "Function calls itself,\nLooping in smaller pieces,\nEndless by design."
WEATHER = "It is 14-20C in Tokyo, sunny with wind."
TOKEN = "standin-token-" + uuid.uuid4().hex
IDENTITY_SECRET = uuid.uuid4().hex
DEPLOYMENT = "gpt-standin"


@dataclass
class StandIns:
    """The identity and model endpoints, and what they were asked."""

    base_url: str = ""
    token_requests: list[dict[str, str]] = field(default_factory=list)
    model_requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)

    async def token(self, request: web.Request) -> web.Response:
        self.token_requests.append(dict(request.query))
        if request.headers.get("X-IDENTITY-HEADER") != IDENTITY_SECRET:
            return web.json_response({"error": "bad identity header"}, status=401)
        expires = int(time.time()) + 3600
        return web.json_response(
            {"access_token": TOKEN, "expires_on": str(expires), "resource": request.query.get("resource"),
             "token_type": "Bearer"}
        )

    async def model(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.model_requests.append((request.path_qs, dict(request.headers), body))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": {"message": "no token", "code": "401"}}, status=401)
        return web.json_response(
            {
                "id": "resp_" + uuid.uuid4().hex,
                "object": "response",
                "created_at": int(time.time()),
                "status": "completed",
                "model": DEPLOYMENT,
                "output": [self._answer(body)],
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
                "usage": {
                    "input_tokens": 20,
                    "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens": 17,
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": 37,
                },
            }
        )


    @staticmethod
    def _answer(body: dict[str, Any]) -> dict[str, Any]:
        """A model that asks for the weather tool when it has one and no tool result yet, else answers."""
        items = body["input"] if isinstance(body.get("input"), list) else []
        tool_result = next((i for i in items if i.get("type") == "function_call_output"), None)
        tools = [t.get("name") for t in body.get("tools") or []]
        if "get_weather" in tools and tool_result is None:
            return {
                "type": "function_call",
                "id": "fc_" + uuid.uuid4().hex,
                "call_id": "call_" + uuid.uuid4().hex,
                "name": "get_weather",
                "arguments": json.dumps({"city": "Tokyo"}),
                "status": "completed",
            }
        text = HAIKU if tool_result is None else WEATHER
        return {
            "type": "message",
            "id": "msg_" + uuid.uuid4().hex,
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }


@contextlib.contextmanager
def stand_ins() -> Iterator[StandIns]:
    """Serve the stand-ins on a free 127.0.0.1 port from a thread of this process."""
    state = StandIns()
    app = web.Application()
    app.router.add_get("/msi/token", state.token)
    app.router.add_post("/openai/{tail:.*}", state.model)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    state.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    ready = threading.Event()

    async def serve() -> None:
        await runner.setup()
        await web.SockSite(runner, sock).start()
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(serve(), loop).result(30)
    try:
        assert ready.is_set()
        yield state
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


@pytest.fixture(params=["memory", pytest.param("azurite", marks=pytest.mark.azurite)])
def storage(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory"
    return str(request.getfixturevalue("azurite").connection_string)


def _run(tmp_path: Path, storage: str, orchestrator: str, services: StandIns) -> dict[str, Any]:
    """Start the sample, POST /api/orchestrators/<orchestrator>, follow statusQueryGetUri to its end."""
    root = tmp_path / "openai_agents"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("SOURCE.md", "__pycache__"))
    env = {
        "TASKHUB_NAME": "Agents" + uuid.uuid4().hex[:10],
        "AZURE_OPENAI_ENDPOINT": services.base_url + "/",
        "AZURE_OPENAI_DEPLOYMENT": DEPLOYMENT,
        "AZURE_OPENAI_API_VERSION": "2025-03-01-preview",
        "IDENTITY_ENDPOINT": services.base_url + "/msi/token",
        "IDENTITY_HEADER": IDENTITY_SECRET,
        # The agent SDK would upload traces to api.openai.com; the sample leaves tracing on.
        "OPENAI_AGENTS_DISABLE_TRACING": "1",
    }
    # host.json asks for the Durable Task Scheduler: devhost says so and runs the app on --storage.
    with devhost_process(root, storage=storage, env=env) as host:
        assert "azureManaged" in host.output()
        started = httpx.post(f"{host.base_url}/api/orchestrators/{orchestrator}", timeout=30)
        assert started.status_code == 202, started.text
        status_url = started.json()["statusQueryGetUri"]
        deadline = time.monotonic() + 90
        while True:
            status = httpx.get(status_url + "&showHistory=true", timeout=30).json()
            if status["runtimeStatus"] in ("Completed", "Failed", "Terminated"):
                break
            assert time.monotonic() < deadline, (status, host.output())
            time.sleep(0.3)
        assert status["runtimeStatus"] == "Completed", (status, host.output())
        return dict(status)


def _activities(status: dict[str, Any]) -> list[str]:
    """The status API shows each finished activity as one TaskCompleted event with its name."""
    return [e.get("FunctionName") for e in status["historyEvents"] if e["EventType"] == "TaskCompleted"]


def test_hello_world_answers_through_the_model_stand_in(tmp_path: Path, storage: str) -> None:
    with stand_ins() as services:
        status = _run(tmp_path, storage, "hello_world", services)
    assert status["output"] == HAIKU
    assert _activities(status) == ["run_model"]
    # The token was asked of the managed identity endpoint for the Cognitive Services audience.
    assert services.token_requests and services.token_requests[0]["resource"].startswith(
        "https://cognitiveservices.azure.com"
    )
    path, headers, body = services.model_requests[-1]
    assert path.startswith("/openai/") and "responses" in path, path
    assert "api-version=2025-03-01-preview" in path
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert body["instructions"] == "You only respond in haikus."
    assert json.dumps(body["input"]).count("Tell me about recursion in programming.") == 1


def test_tools_runs_the_tool_the_model_asks_for_and_answers_with_its_result(
    tmp_path: Path, storage: str
) -> None:
    with stand_ins() as services:
        status = _run(tmp_path, storage, "tools", services)
    assert status["output"] == WEATHER
    # Two model calls, each an activity; the function tool itself runs in the orchestrator.
    assert _activities(status) == ["run_model", "run_model"]
    first, second = (body for _path, _headers, body in services.model_requests)
    assert [t["name"] for t in first["tools"]] == ["get_weather"]
    result = next(i for i in second["input"] if i.get("type") == "function_call_output")
    # openai-agents 0.2 sends a tool's result as str() of what it returned (here a pydantic model).
    assert result["output"] == "city='Tokyo' temperature_range='14-20C' conditions='Sunny with wind.'"
