"""The Azurite helper starts a real emulator on free ports that the storage SDKs can use, and stops it."""

import os
import uuid

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from tests.support.azurite import Azurite, azurite_process


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_session_fixture_serves_blob_queue_and_table(azurite: Azurite) -> None:
    conn = azurite.connection_string
    assert "AccountName=devstoreaccount1" in conn
    name = f"t{uuid.uuid4().hex[:12]}"
    with TableServiceClient.from_connection_string(conn) as tables:
        tables.create_table(name)
        assert name in [t.name for t in tables.list_tables()]
    with QueueServiceClient.from_connection_string(conn) as queues:
        queues.create_queue(name)
        queues.get_queue_client(name).send_message("hi")
        assert [m.content for m in queues.get_queue_client(name).receive_messages()] == ["hi"]
    with BlobServiceClient.from_connection_string(conn) as blobs:
        blobs.create_container(name)
        blobs.get_blob_client(name, "b").upload_blob(b"x")
        assert blobs.get_blob_client(name, "b").download_blob().readall() == b"x"


def test_context_manager_stops_the_process_even_when_the_body_fails(tmp_path) -> None:
    pid = None
    with pytest.raises(RuntimeError, match="boom"), azurite_process(tmp_path / "data") as server:
        pid = server.pid
        assert _alive(pid)
        assert server.table_endpoint.startswith("http://127.0.0.1:")
        raise RuntimeError("boom")
    assert pid is not None
    # Popen.wait() reaped it, so the pid no longer exists.
    assert not _alive(pid)


def test_fixtures_declared_in_several_conftests_share_one_process(azurite: Azurite) -> None:
    from tests.support import azurite as helper

    assert helper._shared is azurite and helper._shared_users >= 1
