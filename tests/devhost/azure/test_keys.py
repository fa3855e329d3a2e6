"""Key sanitation, FNV-1a partitioning and resource names match DurableTask.AzureStorage."""

import pytest

from devhost.store.azure import keys


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain-id_1", "plain-id_1"),
        ("a/b", "a^0b"),
        ("a\\b", "a^1b"),
        ("a#b", "a^2b"),
        ("a?b", "a^3b"),
        ("a^b", "a^^b"),
        ("tab\there", "tab^\u00c9here"),  # control char 0x09 -> '^' + chr(0xC0 + 9)
        ("del\x7f", "del^\u013f"),
        ("ünïcode", "ünïcode"),
    ],
)
def test_partition_key_escaping_matches_key_sanitation(raw: str, escaped: str) -> None:
    assert keys.escape_partition_key(raw) == escaped
    assert keys.unescape_partition_key(escaped) == raw


def test_fnv1a_matches_the_published_test_vectors() -> None:
    # FNV-1a 32-bit reference values (offset basis 2166136261, prime 16777619).
    assert keys.fnv1a_32(b"") == 0x811C9DC5
    assert keys.fnv1a_32(b"a") == 0xE40C292C
    assert keys.fnv1a_32(b"foobar") == 0xBF9CF968


def test_partition_is_hash_of_utf8_id_modulo_count() -> None:
    for iid in ["abc", "8f2c1d", "ü-instance", "x" * 100]:
        assert keys.partition_index(iid, 4) == keys.fnv1a_32(iid.encode("utf-8")) % 4
    assert {keys.partition_index(f"i{n}", 4) for n in range(50)} == {0, 1, 2, 3}


def test_row_keys_are_16_upper_case_hex_digits() -> None:
    assert keys.history_row_key(0) == "0000000000000000"
    assert keys.history_row_key(10) == "000000000000000A"
    assert keys.history_row_key(255) == "00000000000000FF"


def test_resource_names_keep_table_case_and_lower_queues() -> None:
    names = keys.HubNames.of("MyHub", 4)
    assert names.instances_table == "MyHubInstances"
    assert names.history_table == "MyHubHistory"
    assert names.control_queues[0] == "myhub-control-00" and names.control_queues[3] == "myhub-control-03"
    assert len(names.control_queues) == 4
    assert names.workitem_queue == "myhub-workitems"
    assert names.large_messages_container == "myhub-largemessages"
    assert names.leases_container == "myhub-leases"


@pytest.mark.parametrize("bad", ["ab", "1hub", "hub-name", "h" * 46, ""])
def test_invalid_hub_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid for Azure Storage"):
        keys.validate_hub_name(bad)
