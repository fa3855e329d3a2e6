"""Orchestration versioning as the runtime applies it (PROTOCOL.md §36): the version a new instance
gets, and whether this host may run an instance of a given version.

host.json's `extensions.durableTask.defaultVersion` is the version of every instance this host starts
without an explicit one, sub-orchestrations included (they do not inherit their parent's); an
instance's version never changes. `versionMatchStrategy` (`None`, `Strict`, `CurrentOrOlder`) says which
instances this host runs, comparing theirs with its default version as DTFx's `CompareVersions` does;
`versionFailureStrategy` says what happens to one it may not run: `Reject` leaves it for another host
(its messages stay queued), `Fail` fails it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class MatchStrategy(StrEnum):
    NONE = "None"
    STRICT = "Strict"
    CURRENT_OR_OLDER = "CurrentOrOlder"


class FailureStrategy(StrEnum):
    REJECT = "Reject"
    FAIL = "Fail"


# DTFx's failure for an instance a host may not run (TaskOrchestrationDispatcher, §36).
MISMATCH_ERROR_TYPE = "VersionMismatch"
MISMATCH_MESSAGE = "Orchestration version did not comply with Worker Versioning"

# One part of a .NET Version: `int.TryParse(part, NumberStyles.Integer, InvariantCulture)`, i.e. ASCII digits
# with an optional sign and the white space NumberStyles allows (tab, line breaks, space) around them.
_VERSION_PART = re.compile(r"^[\t\n\v\f\r ]*[+-]?[0-9]+[\t\n\v\f\r ]*$")
_INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class Versioning:
    default_version: str = ""
    match: MatchStrategy = MatchStrategy.CURRENT_OR_OLDER
    failure: FailureStrategy = FailureStrategy.REJECT

    def version_for(self, requested: str | None) -> str:
        """The version of a new instance: the one asked for, else this host's default."""
        return self.default_version if requested is None else requested

    def refuses(self, instance_version: str) -> bool:
        """Whether this host may not run an instance of `instance_version`. Only with a default version
        set: a host without one has no version to compare with (devhost's reading, §36)."""
        if not self.default_version or self.match is MatchStrategy.NONE:
            return False
        if self.match is MatchStrategy.STRICT:
            return instance_version != self.default_version
        return compare_versions(instance_version, self.default_version) > 0


def compare_versions(source: str, other: str) -> int:
    """DTFx `VersioningSettings.CompareVersions`: blank versions are equal and older than any other;
    two .NET `Version`s compare by component (a missing component is older than 0); anything else by
    case-insensitive ordinal comparison."""
    if not source.strip() and not other.strip():
        return 0
    if not source.strip():
        return -1
    if not other.strip():
        return 1
    a, b = _dotnet_version(source), _dotnet_version(other)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    left, right = _ordinal_ignore_case(source), _ordinal_ignore_case(other)
    return (left > right) - (left < right)


def _ordinal_ignore_case(text: str) -> list[int]:
    """The UTF-16 code units `StringComparison.OrdinalIgnoreCase` compares: each character upper-cased by
    the simple one-to-one mapping (so "ß" stays "ß", where Python's upper() gives "SS")."""
    upper = "".join(u if len(u := c.upper()) == 1 else c for c in text)
    data = upper.encode("utf-16-be", "surrogatepass")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def _dotnet_version(text: str) -> tuple[int, int, int, int] | None:
    """`System.Version.TryParse`: two to four dot-separated non-negative Int32 parts."""
    texts = text.split(".")
    if not 2 <= len(texts) <= 4 or not all(_VERSION_PART.match(t) for t in texts):
        return None
    parts = [int(t.strip("\t\n\v\f\r ")) for t in texts]
    # A part must fit an Int32 and not be negative ("-0" is 0, and allowed).
    if any(p < 0 or p > _INT32_MAX for p in parts):
        return None
    padded = parts + [-1] * (4 - len(parts))
    return padded[0], padded[1], padded[2], padded[3]
