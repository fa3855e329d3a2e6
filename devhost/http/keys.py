"""Function, master and system keys for `--auth`, kept in `<app root>/.devhost/keys.json`.

The file is generated on first use with owner-only permissions; `.devhost/` is gitignored. Keys are
compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

KEYS_DIR = ".devhost"
KEYS_FILE = "keys.json"
DURABLE_SYSTEM_KEY = "durabletask_extension"


def _new_key() -> str:
    # Same shape as the host's keys: URL-safe, ~40 characters, usable as a `code` query value.
    return secrets.token_urlsafe(30)


@dataclass(frozen=True)
class HostKeys:
    """The keys the host accepts: master (admin), host function keys, per-function keys, system keys."""

    master: str
    function_keys: dict[str, str]
    per_function: dict[str, dict[str, str]]
    system_keys: dict[str, str]

    @property
    def durable_system_key(self) -> str:
        return self.system_keys[DURABLE_SYSTEM_KEY]

    def is_master(self, key: str) -> bool:
        return hmac.compare_digest(key.encode(), self.master.encode())

    def allows_function(self, function_name: str, key: str) -> bool:
        """A function-level endpoint accepts its own keys, the host function keys and the master key."""
        candidates = list(self.function_keys.values())
        for name, keys in self.per_function.items():
            if name.lower() == function_name.lower():
                candidates.extend(keys.values())
        return self.is_master(key) or any(hmac.compare_digest(key.encode(), c.encode()) for c in candidates)

    def allows_system(self, system_name: str, key: str) -> bool:
        """Extension webhooks accept their system key or the master key."""
        own = self.system_keys.get(system_name)
        return self.is_master(key) or (own is not None and hmac.compare_digest(key.encode(), own.encode()))


def load_or_create_keys(app_root: Path) -> HostKeys:
    """Read the keys file, creating it (and any missing key) on first use."""
    directory = app_root / KEYS_DIR
    path = directory / KEYS_FILE
    data: dict[str, object] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path} is unreadable; delete it to generate new keys") from exc
        if isinstance(loaded, dict):
            data = loaded
    changed = False
    if not isinstance(data.get("masterKey"), str):
        data["masterKey"] = _new_key()
        changed = True
    function_keys = data.get("functionKeys")
    if not isinstance(function_keys, dict) or not function_keys:
        data["functionKeys"] = {"default": _new_key()}
        changed = True
    system_keys = data.get("systemKeys")
    if not isinstance(system_keys, dict):
        system_keys = {}
        data["systemKeys"] = system_keys
    if not isinstance(system_keys.get(DURABLE_SYSTEM_KEY), str):
        system_keys[DURABLE_SYSTEM_KEY] = _new_key()
        changed = True
    if not isinstance(data.get("perFunctionKeys"), dict):
        data["perFunctionKeys"] = {}
        changed = True
    if changed:
        directory.mkdir(mode=0o700, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
        os.replace(tmp, path)
        log.info("wrote host keys to %s", path)
    per_function_raw = data["perFunctionKeys"]
    assert isinstance(per_function_raw, dict)
    function_raw = data["functionKeys"]
    assert isinstance(function_raw, dict)
    return HostKeys(
        master=str(data["masterKey"]),
        function_keys={str(k): str(v) for k, v in function_raw.items()},
        per_function={
            str(f): {str(k): str(v) for k, v in keys.items()}
            for f, keys in per_function_raw.items()
            if isinstance(keys, dict)
        },
        system_keys={str(k): str(v) for k, v in system_keys.items()},
    )
