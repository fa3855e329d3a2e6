"""Orchestration versioning as the runtime applies it (PROTOCOL.md §36): new instances and their
sub-orchestrations take the host's default version unless given one, an instance keeps its version
across hosts, and the match and failure strategies decide what a host does with another version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import pytest

from devhost.config import ConfigError, load_host_config
from devhost.history import EventType, RuntimeStatus
from devhost.store.memory import MemoryStore
from devhost.testing import DurableHarness
from devhost.versioning import FailureStrategy, MatchStrategy, Versioning, compare_versions


@pytest.mark.parametrize(
    ("source", "other", "expected"),
    [
        ("", "", 0),
        ("  ", "", 0),
        ("", "1.0", -1),
        ("1.0", "", 1),
        ("1.0", "1.0", 0),
        ("2.0", "10.0", -1),  # .NET Version: by number, not by text
        ("1.0", "1.0.0", -1),  # a missing component is older than 0
        ("1.2.3.4", "1.2.3.4", 0),
        ("1", "2", -1),  # one part is not a .NET Version: compared as text ...
        ("10", "9", -1),  # ... so "10" sorts before "9"
        ("v2", "V2", 0),  # case-insensitive
        ("2025-01-01", "2025-02-01", -1),
        # Versions the strategy cannot read as .NET Versions are never refused: they compare as text.
        ("1.0", "beta", -1),  # one side a .NET Version, the other not: text ("1" < "B")
        ("2.0", "10", 1),  # text again: "2" > "1"
        ("+1.0", " 1 . 0 ", 0),  # Int32 parts allow a sign and white space around them
        ("-0.1", "0.1", 0),  # "-0" is the number 0
        ("-1.0", "1.0", -1),  # a negative part is no Version: "-" < "1" as text
        ("\u0661.0", "1.0", 1),  # only ASCII digits are digits: U+0661 > "1" as text
        ("ß", "SS", 1),  # OrdinalIgnoreCase maps one character to one: "ß" stays "ß" (U+00DF > "S")
        ("\U0001f600", "\uffff", -1),  # UTF-16 code units: a surrogate (U+D83D) sorts before U+FFFF
        ("2147483648.0", "3.0", -1),  # beyond Int32: no Version, so text ("2" < "3")
    ],
)
def test_versions_compare_as_dtfx_compares_them(source: str, other: str, expected: int) -> None:
    assert compare_versions(source, other) == expected


def make_app() -> df.DFApp:
    app = df.DFApp()

    @app.orchestration_trigger(context_name="context")
    def parent(context: df.DurableOrchestrationContext):
        own = yield context.call_sub_orchestrator("child", None, f"{context.instance_id}-a")
        # An older version than the host's: this host runs it (CurrentOrOlder).
        given = yield context.call_sub_orchestrator("child", None, f"{context.instance_id}-b", version="1.5")
        return {"parent": context.version, "child": own, "child_given": given}

    @app.orchestration_trigger(context_name="context")
    def child(context: df.DurableOrchestrationContext):
        yield context.create_timer(context.current_utc_datetime)
        return context.version

    @app.orchestration_trigger(context_name="context")
    def parked(context: df.DurableOrchestrationContext):
        # A step changed behind a version check: instances of 1.0 keep the old one.
        first = yield context.call_activity("step", "old" if context.version == "1.0" else "new")
        yield context.wait_for_external_event("Go")
        second = yield context.call_activity("step", "after")
        return [context.version, first, second]

    @app.activity_trigger(input_name="value")
    def step(value: str) -> str:
        return value

    return app


def test_instances_and_children_take_the_default_version_unless_given_one() -> None:
    with DurableHarness(make_app(), versioning=Versioning("2.0")) as h:
        status = h.wait_for_completion(h.start_new("parent", instance_id="p"))
        assert status.runtime_status is RuntimeStatus.Completed, status.output
        assert status.output == {"parent": "2.0", "child": "2.0", "child_given": "1.5"}
        assert [h.get_status(i).version for i in ("p", "p-a", "p-b")] == ["2.0", "2.0", "1.5"]  # type: ignore[union-attr]
        created = [e for e in h.history("p") if e["EventType"] == EventType.SubOrchestrationInstanceCreated]
        assert [e["Version"] for e in created] == ["2.0", "1.5"]
        child_started = h.history("p-b")[1]
        assert child_started["Version"] == "1.5" and child_started["ParentInstance"]["Version"] == "2.0"


def test_without_a_default_version_instances_have_none() -> None:
    with DurableHarness(make_app()) as h:
        status = h.wait_for_completion(h.start_new("parent", instance_id="p"))
    assert status.output == {"parent": "", "child": "", "child_given": "1.5"}


def test_a_parked_instance_keeps_its_version_and_path_on_a_host_of_the_next_version() -> None:
    store = MemoryStore()
    with DurableHarness(make_app(), store=store, versioning=Versioning("1.0")) as old_host:
        old_host.start_new("parked", instance_id="old")
        old_host.run_until_idle()
    with DurableHarness(make_app(), store=store, versioning=Versioning("2.0")) as new_host:
        new_host.start_new("parked", instance_id="new")
        new_host.run_until_idle()
        for iid in ("old", "new"):
            new_host.raise_event(iid, "Go")
        results = {iid: new_host.wait_for_completion(iid).output for iid in ("old", "new")}
    assert results == {"old": ["1.0", "old", "after"], "new": ["2.0", "new", "after"]}


def run_newer_instance(versioning: Versioning) -> tuple[DurableHarness, Any]:
    """An instance of 3.0 (started by a newer host) picked up by a host with `versioning`."""
    store = MemoryStore()
    with DurableHarness(make_app(), store=store, versioning=Versioning("3.0")) as newer:
        newer.start_new("parked", instance_id="i")
    host = DurableHarness(make_app(), store=store, versioning=versioning)
    host.run_until_idle()
    return host, host.get_status("i")


def test_an_older_host_leaves_a_newer_instance_alone_by_default() -> None:
    host, status = run_newer_instance(Versioning("2.0"))  # CurrentOrOlder, Reject
    with host:
        assert status.runtime_status is RuntimeStatus.Pending  # not run, its start message kept
        assert host.history("i") == []


def test_the_fail_strategy_fails_it_with_the_runtimes_details() -> None:
    host, status = run_newer_instance(Versioning("2.0", failure=FailureStrategy.FAIL))
    with host:
        assert status.runtime_status is RuntimeStatus.Failed
        completed = next(e for e in host.history("i") if e["EventType"] == EventType.ExecutionCompleted)
    details = completed["FailureDetails"]
    assert (details["ErrorType"], details["ErrorMessage"]) == (
        "VersionMismatch",
        "Orchestration version did not comply with Worker Versioning",
    )


@pytest.mark.parametrize(
    ("match", "runs"),
    [(MatchStrategy.NONE, True), (MatchStrategy.STRICT, False), (MatchStrategy.CURRENT_OR_OLDER, False)],
)
def test_each_match_strategy(match: MatchStrategy, runs: bool) -> None:
    host, status = run_newer_instance(Versioning("2.0", match=match))
    with host:
        assert (status.runtime_status is RuntimeStatus.Running) is runs


def test_strict_refuses_an_older_instance_too() -> None:
    assert Versioning("2.0", match=MatchStrategy.STRICT).refuses("1.0")
    assert not Versioning("2.0").refuses("1.0")


def write_host_json(tmp_path: Path, durable: dict[str, Any]) -> Path:
    (tmp_path / "host.json").write_text(
        json.dumps({"version": "2.0", "extensions": {"durableTask": durable}})
    )
    return tmp_path


def test_host_json_settings_are_read_with_their_defaults(tmp_path: Path) -> None:
    assert load_host_config(write_host_json(tmp_path, {}), {}).versioning == Versioning()
    durable = {
        "defaultVersion": "%APP_VERSION%",
        "versionMatchStrategy": "strict",
        "versionFailureStrategy": "FAIL",
    }
    versioning = load_host_config(write_host_json(tmp_path, durable), {"APP_VERSION": "1.2"}).versioning
    assert versioning == Versioning("1.2", MatchStrategy.STRICT, FailureStrategy.FAIL)


@pytest.mark.parametrize(
    ("raw", "version"),
    [("1.10", "1.1"), ("1.0", "1"), ("2", "2"), ('"1.10"', "1.10"), ("1e15", "1E+15"), ("0.00001", "1E-05")],
)
def test_a_version_written_as_a_json_number_is_the_text_the_host_makes_of_it(
    tmp_path: Path, raw: str, version: str
) -> None:
    # The host reads host.json with Newtonsoft: 1.10 is the double 1.1 before it is text (PROTOCOL.md §7).
    durable = '{"durableTask": {"defaultVersion": ' + raw + "}}"
    (tmp_path / "host.json").write_text('{"version": "2.0", "extensions": ' + durable + "}")
    assert load_host_config(tmp_path, {}).versioning.default_version == version


def test_an_unknown_strategy_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match="versionMatchStrategy 'Newest' is not one of None, Strict, CurrentOrOlder"
    ):
        load_host_config(write_host_json(tmp_path, {"versionMatchStrategy": "Newest"}), {})
