"""The server log says what really happened: an UPDATE_NAMESRV_CONFIG the server did not take is
not logged as an update, an unknown key is not "not changeable at runtime", and a broker that was
never registered is not logged as unregistered. The answers stay 5.3.3's (SUCCESS in all these
cases; NO_PERMISSION for the black list)."""

from __future__ import annotations

import logging

import pytest

from nsctl.client import NameServerClient, PermissionDeniedError
from nsctl.protocol.register import TopicConfig

LOGGER = "nsctl.server"


@pytest.fixture
def client(nameserver):
    with NameServerClient(nameserver.address) as client:
        yield client


def update(client, caplog, **properties: str) -> list[str]:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        client.update_namesrv_config(properties)
    return [r.getMessage() for r in caplog.records if r.name.startswith(LOGGER)]


def test_a_change_is_logged_with_old_and_new_value(client, caplog):
    assert update(client, caplog, orderMessageEnable="true") == [
        "configuration updated: orderMessageEnable false -> true"
    ]
    assert client.get_namesrv_config()["orderMessageEnable"] == "true"
    assert update(client, caplog, orderMessageEnable="TRUE") == [
        "UPDATE_NAMESRV_CONFIG: already set, unchanged: orderMessageEnable"
    ]


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("orderMessageEnable", "maybe", "'maybe' is not true or false"),
        ("waitSecondsForService", "abc", "'abc' is not an integer"),
        ("waitSecondsForService", "-3", "-3 is outside 0..2147483647"),
        ("fooBar", "1", "no such setting"),
        ("listenPort", "1234", "only read at start-up: not changed while running"),
    ],
)
def test_what_is_not_taken_is_logged_as_ignored_with_the_reason(client, caplog, key, value, why):
    before = client.get_namesrv_config().get(key)
    messages = update(client, caplog, **{key: value})
    assert messages == [f"UPDATE_NAMESRV_CONFIG: ignored {key} ({why})"]
    assert client.get_namesrv_config().get(key) == before


def test_a_mixed_update_logs_each_part(client, caplog):
    messages = update(client, caplog, enableTopicList="false", fooBar="x")
    assert messages == [
        "configuration updated: enableTopicList true -> false",
        "UPDATE_NAMESRV_CONFIG: ignored fooBar (no such setting)",
    ]


def test_a_black_listed_key_is_logged_as_refused(client, caplog):
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=LOGGER), pytest.raises(PermissionDeniedError):
        client.update_namesrv_config({"kvConfigPath": "/tmp/x", "orderMessageEnable": "true"})
    messages = [r.getMessage() for r in caplog.records if r.name.startswith(LOGGER)]
    assert messages == [
        "UPDATE_NAMESRV_CONFIG refused (black-listed keys kvConfigPath): nothing changed"
    ]


BROKER = {"cluster_name": "c1", "broker_name": "b1", "broker_addr": "127.0.0.1:10911"}


def unregister_messages(client, caplog) -> list[str]:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        client.unregister_broker(**BROKER)
    return [r.getMessage() for r in caplog.records if "10911" in r.getMessage()]


def test_unregistering_a_broker_never_registered_says_so(client, caplog):
    assert unregister_messages(client, caplog) == [
        "UNREGISTER_BROKER for 127.0.0.1:10911 (c1/b1): no such broker registered, nothing removed"
    ]


def test_unregistering_a_registered_broker_says_unregistered(nameserver, client, caplog):
    with NameServerClient(nameserver.address) as broker:
        topics = {name: TopicConfig(name, 4, 4, 6) for name in ("T1", "T2")}
        broker.register_broker(**BROKER, topic_configs=topics)
        assert unregister_messages(client, caplog) == [
            "broker 127.0.0.1:10911 (c1/b1) unregistered"
        ]
        # A second time there is nothing left to remove.
        assert "no such broker registered" in unregister_messages(client, caplog)[0]
