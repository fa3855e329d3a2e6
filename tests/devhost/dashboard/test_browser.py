"""The dashboard in a real headless Chromium, against devhost on Azurite running the booking app.

Bookings are started over HTTP like a traveller does; everything after that is done in the browser: the
list and its status filter, a booking's page and its trips, a `+flaky` trip's waterfall, terminating a
`+nopay` booking, a bulk purge, and a stored `<script>` that must stay text. Screenshots of the list and
of an instance are saved under tests/artifacts/dashboard/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.devhost.dashboard.conftest import HOSTILE_NAME, instance, wait_status
from tests.devhost.host.apps import DURABLE_APP, write_app
from tests.support.devhost import DevhostProcess, devhost_process

pytestmark = pytest.mark.azurite


def row(page: Any, instance_id: str) -> Any:
    return page.locator(f'tr[data-instance-id="{instance_id}"]')


def test_list_shows_bookings_and_the_completed_filter_hides_running_ones(
    page: Any, devhost: DevhostProcess, bookings: dict[str, str], artifacts: Path
) -> None:
    page.goto(devhost.base_url + "/_devhost/")
    for booking_id in bookings.values():
        row(page, booking_id).wait_for()
    assert row(page, bookings["nopay"]).get_attribute("data-status") == "Running"
    assert int(page.locator('.n[data-status="Completed"]').inner_text()) >= 3
    page.screenshot(path=str(artifacts / "list.png"), full_page=True)

    page.get_by_label("Runtime status").select_option("Completed")
    row(page, bookings["nopay"]).wait_for(state="detached")
    row(page, bookings["done"]).wait_for()
    assert "status=Completed" in page.url  # the filter is in the address: a link shows the same view
    statuses = page.locator("#rows tr").evaluate_all("rows => rows.map(r => r.dataset.status)")
    assert statuses and set(statuses) == {"Completed"}


def test_a_booking_links_to_its_trip_and_back(
    page: Any, devhost: DevhostProcess, bookings: dict[str, str]
) -> None:
    booking_id = bookings["done"]
    page.goto(devhost.base_url + "/_devhost/")
    row(page, booking_id).get_by_role("link").click()
    page.wait_for_url("**/_devhost/instance?id=*")
    page.locator("#status .badge", has_text="Completed").wait_for()
    trip_link = page.locator("#related li.child a", has_text=f"{booking_id}:trip:0")
    trip_link.click()
    page.locator("#iid", has_text=f"{booking_id}:trip:0").wait_for()
    page.locator("#related a", has_text=booking_id).first.click()
    page.locator("#iid").filter(has_text=booking_id).wait_for()
    assert page.locator("#iid").inner_text() == booking_id


def test_a_flaky_trip_shows_its_failed_attempts_and_the_backoff_gaps(
    page: Any, devhost: DevhostProcess, bookings: dict[str, str], artifacts: Path
) -> None:
    trip_id = bookings["flaky"] + ":trip:0"
    page.goto(f"{devhost.base_url}/_devhost/instance?id={trip_id}")
    page.locator("#waterfall .wf-row[data-kind]").first.wait_for()
    rows = page.locator("#waterfall .wf-row[data-kind]").evaluate_all(
        "rows => rows.map(r => [r.dataset.kind, r.dataset.name, r.dataset.outcome,"
        " Number(r.dataset.attempt)])"
    )
    activities = [r for r in rows if r[0] == "activity"]
    failed = [r for r in activities if r[2] == "failed"]
    assert len(failed) >= 2, rows  # the +flaky airline answers 503 twice before it books
    name = failed[0][1]
    attempts = [r for r in activities if r[1] == name]
    assert [r[3] for r in attempts] == list(range(1, len(attempts) + 1))
    assert attempts[-1][2] == "completed"
    # Between one failed attempt and the next there is a backoff timer bar.
    first, second = rows.index(attempts[0]), rows.index(attempts[1])
    timers = [i for i in range(first + 1, second) if rows[i][0] == "timer"]
    assert timers, rows
    # On the time axis the gap is there to see: the backoff bar has a width and lies after the failed
    # attempt's bar and before the next attempt's (1 px of rounding allowed).
    bars = page.locator("#waterfall .wf-row[data-kind] .bar")
    failed_box, timer_box, next_box = (bars.nth(i).bounding_box() for i in (first, timers[0], second))
    assert timer_box["width"] > 0, timer_box
    assert failed_box["x"] + failed_box["width"] <= timer_box["x"] + 1, (failed_box, timer_box)
    assert timer_box["x"] + timer_box["width"] <= next_box["x"] + 1, (timer_box, next_box)
    assert page.locator("#waterfall .bar.failed").count() >= 2
    assert page.locator("#waterfall .bar.timer").count() >= 2
    assert "failed:" in page.locator("#waterfall .wf-row[data-outcome=failed] .dur").first.inner_text()
    page.screenshot(path=str(artifacts / "instance.png"), full_page=True)
    page.locator("#waterfall").screenshot(path=str(artifacts / "waterfall.png"))


def test_terminating_a_nopay_booking_from_its_page_ends_it_terminated(
    page: Any, devhost: DevhostProcess, bookings: dict[str, str]
) -> None:
    booking_id = bookings["nopay"]
    page.goto(f"{devhost.base_url}/_devhost/instance?id={booking_id}")
    page.locator("#status .badge", has_text="Running").wait_for()
    dialogs: list[str] = []

    def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.get_by_role("button", name="Terminate…").click()
    page.locator("#status .badge", has_text="Terminated").wait_for()
    assert dialogs == [f"Terminate instance {booking_id}?"]
    assert instance(devhost, booking_id).json()["instance"]["runtimeStatus"] == "Terminated"


def test_stored_html_is_shown_as_text(page: Any, devhost: DevhostProcess, bookings: dict[str, str]) -> None:
    # The traveller's name is stored in the booking's input; a trip started (through the management API)
    # with a hostile conference id fails, and its output, the failure, quotes that id.
    started = httpx.post(f"{devhost.base_url}/runtime/webhooks/durabletask/orchestrators/trip",
                         json={"conferenceId": HOSTILE_NAME}, timeout=30)
    assert started.status_code == 202, started.text
    hostile_trip = started.json()["id"]
    failed = wait_status(devhost, hostile_trip, "Failed")
    assert HOSTILE_NAME in failed["instance"]["output"]

    page.goto(f"{devhost.base_url}/_devhost/instance?id={bookings['hostile']}")
    page.locator("#status .badge", has_text="Completed").wait_for()
    assert HOSTILE_NAME in page.locator('details[data-payload="input"] pre').text_content()
    page.goto(f"{devhost.base_url}/_devhost/instance?id={hostile_trip}")
    page.locator("#status .badge", has_text="Failed").wait_for()
    assert HOSTILE_NAME in page.locator('details[data-payload="output"] pre').text_content()
    assert HOSTILE_NAME in page.locator("#failure").text_content()
    assert page.locator("main script").count() == 0
    assert page.evaluate("() => window.pwned") is None


def test_bulk_purge_of_completed_instances_removes_them(
    page: Any, devhost: DevhostProcess, bookings: dict[str, str]
) -> None:
    page.goto(devhost.base_url + "/_devhost/?status=Completed")
    row(page, bookings["done"]).wait_for()
    dialogs: list[str] = []

    def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    button = page.get_by_role("button", name="Purge finished")
    shown = int(button.inner_text().split("(")[1].split(")")[0])
    assert shown >= 6  # three bookings and their trips at least
    button.click()
    page.locator("#message", has_text="Purged").wait_for()
    assert dialogs and dialogs[0].startswith("Purge ") and "finished instance" in dialogs[0]
    row(page, bookings["done"]).wait_for(state="detached")
    for kind in ("done", "flaky", "hostile"):
        assert instance(devhost, bookings[kind]).status_code == 404
    # Instances that were not finished are untouched (the terminated booking is finished, not Completed).
    assert instance(devhost, bookings["nopay"]).status_code == 200

    # A stale link to a purged instance is a message in the page, not a broken one.
    page.goto(f"{devhost.base_url}/_devhost/instance?id={bookings['done']}")
    page.locator("#message", has_text=f"no instance '{bookings['done']}'").wait_for()
    assert page.locator("#instance").is_hidden()


def test_with_auth_the_page_asks_for_the_master_key_once_per_tab(page: Any, tmp_path: Path) -> None:
    root = write_app(tmp_path / "app", DURABLE_APP)
    with devhost_process(root, storage="memory", auth=True) as host:
        master = json.loads((root / ".devhost" / "keys.json").read_text())["masterKey"]
        started = httpx.post(f"{host.base_url}/runtime/webhooks/durabletask/orchestrators/chaining",
                             headers={"x-functions-key": master}, timeout=30)
        assert started.status_code == 202, started.text
        instance_id = started.json()["id"]
        assert httpx.get(f"{host.base_url}/_devhost/api/instances", timeout=30).status_code == 401

        page.goto(host.base_url + "/_devhost/")
        page.get_by_label("Master key", exact=False).fill("not-the-key")
        page.get_by_role("button", name="Use key").click()
        page.locator("#message", has_text="master key").wait_for()  # asked again, no data shown
        assert page.locator("#rows tr[data-instance-id]").count() == 0
        page.get_by_label("Master key", exact=False).fill(master)
        page.get_by_role("button", name="Use key").click()
        row(page, instance_id).wait_for()
        row(page, instance_id).get_by_role("link").click()  # the next page of this tab has the key
        page.locator("#iid", has_text=instance_id).wait_for()
        assert page.locator("#key-form").is_hidden()
