"""`make run` (scripts/run_local.py) as a newcomer meets it: a taken port or a broken setup is one line
that says what to do and a non-zero exit, never "Ready"; with the ports moved it comes up and serves a
booking end to end. Every run here uses free ports and a temporary state folder, and is stopped by pid."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts import run_local
from tests.support.processes import terminate

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "run_local.py"
PORT_SETTINGS = (
    "DEVHOST_PORT",
    "SANDBOX_PORT",
    "AZURITE_BLOB_PORT",
    "AZURITE_QUEUE_PORT",
    "AZURITE_TABLE_PORT",
)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def run_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PORT_SETTINGS}
    env.update(zip(PORT_SETTINGS, map(str, free_ports(len(PORT_SETTINGS))), strict=True))
    env["AZURITE_LOCATION"] = str(tmp_path / "state")
    env.update(overrides)
    return env


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


@pytest.mark.parametrize("setting", ["DEVHOST_PORT", "SANDBOX_PORT", "AZURITE_BLOB_PORT"])
def test_a_taken_port_is_named_with_the_setting_that_moves_it(
    tmp_path: Path, taken_port: int, setting: str
) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT)],
        env=run_env(tmp_path, **{setting: str(taken_port)}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Ready" not in result.stdout and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port {taken_port}" in lines[0] and f"{setting}=<port>" in lines[0]


def test_a_port_that_is_no_number_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT)],
        env=run_env(tmp_path, SANDBOX_PORT="70800"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "make run: SANDBOX_PORT='70800' is not a port number (1-65535)"


def test_a_state_folder_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    with pytest.raises(run_local.Problem, match="is not writable"):
        run_local.check_tools(blocked)


def test_the_port_check_binds_instead_of_asking(taken_port: int) -> None:
    # A listener that never answers HTTP still holds its port.
    assert run_local.port_in_use(taken_port)
    assert not run_local.port_in_use(free_ports(1)[0])


def test_settings_that_name_a_port_follow_the_overrides() -> None:
    ports = dict(zip(PORT_SETTINGS, (17071, 17080, 11000, 11001, 11002), strict=True))
    derived = run_local.derived_settings(ports)
    assert derived["CONFERENCE_API_URL"] == "http://127.0.0.1:17080/conference"
    assert derived["PUBLIC_BASE_URL"] == "http://127.0.0.1:17071"
    assert "QueueEndpoint=http://127.0.0.1:11001/devstoreaccount1;" in derived["AzureWebJobsStorage"]


def _json(url: str, data: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=None if data is None else json.dumps(data).encode(),
        headers={"Content-Type": "application/json"},
        method="GET" if data is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_with_the_ports_moved_it_comes_up_and_serves_a_booking(tmp_path: Path) -> None:
    env = run_env(tmp_path, PAYMENT_TIMEOUT_SECONDS="60")
    log = tmp_path / "make-run.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(SCRIPT)], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO
        )
    try:
        deadline = time.monotonic() + 90
        while "Ready." not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        api = f"http://127.0.0.1:{env['DEVHOST_PORT']}/api"
        status, started = _json(
            f"{api}/bookings",
            {
                "traveller": {"name": "Ada Lovelace", "email": "ada@example.com"},
                "trips": [{"conferenceId": "serverlessdays-amsterdam-2027", "origin": "BER"}],
            },
        )
        assert status == 202
        assert started["links"]["self"].startswith(f"{api}/bookings/")
        booking: dict[str, Any] = {}
        while booking.get("status") not in ("Confirmed", "Failed", "Expired", "Cancelled"):
            assert time.monotonic() < deadline, booking
            time.sleep(0.5)
            booking = _json(started["links"]["self"])[1]
        assert booking["status"] == "Confirmed", booking
    finally:
        code = terminate(proc, timeout=30)
    output = log.read_text()
    assert code == 0, output
    # One line format for the three processes: every line of theirs names its process.
    relayed = [line for line in output.splitlines() if " | " in line]
    assert {line.split()[1] for line in relayed} >= {"azurite", "sandbox", "devhost"}
    assert "Traceback" not in output
