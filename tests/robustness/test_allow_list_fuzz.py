"""Fuzzing the allow-list parsing (`--broker-allow`, `nsctl.brokerAllow` in `-c`) and the
dispatcher's broker-write guard: arbitrary text is a list of networks or a ValueError
(ConfigError naming the key for the file), never anything else; what is printed parses back;
a refused broker write never changes the server's state."""

from __future__ import annotations

import ipaddress

from hypothesis import example, given, settings
from hypothesis import strategies as st

from nsctl.protocol.codes import RequestCode, ResponseCode
from nsctl.server.config import (
    BROKER_ALLOW_KEY,
    ConfigError,
    NamesrvConfig,
    parse_network_list,
)
from nsctl.server.dispatch import BROKER_WRITE_CODES, Dispatcher
from nsctl.server.kvstore import KVStore
from nsctl.server.route_table import RouteTable
from tests.server.wire import register_request, request

_PIECES = st.sampled_from(
    ["10.0.0.0/8", "127.0.0.1", "::1", "fe80::/10", "0.0.0.0/0", ",", " ", "/", "/33", ".", ":",
     "1", "255", "300", "-", "\t", "\n", "\x00", "é", "", "10.0.0.1/8", "::ffff:1.2.3.4"]
)  # fmt: skip
_TEXT = st.one_of(st.text(max_size=60), st.lists(_PIECES, max_size=12).map("".join))


@settings(max_examples=400)
@given(_TEXT)
@example("")
@example(",")
@example("10.0.0.0/8,,::1")
def test_any_text_is_networks_or_a_value_error(text):
    try:
        networks = parse_network_list(text)
    except ValueError:
        return
    assert networks and all(
        isinstance(n, (ipaddress.IPv4Network, ipaddress.IPv6Network)) for n in networks
    )


_NETWORKS = st.lists(
    st.one_of(
        st.builds(
            lambda a, p: ipaddress.ip_network((a, p), strict=False),
            st.ip_addresses(v=4),
            st.integers(0, 32),
        ),
        st.builds(
            lambda a, p: ipaddress.ip_network((a, p), strict=False),
            st.ip_addresses(v=6),
            st.integers(0, 128),
        ),
    ),
    min_size=1,
    max_size=6,
)


@given(_NETWORKS, st.sampled_from([",", ", ", " ,\t"]))
def test_printed_lists_parse_back(networks, separator):
    assert parse_network_list(separator.join(map(str, networks))) == tuple(networks)


@settings(max_examples=200)
@given(_TEXT)
def test_properties_key_is_used_or_a_config_error_naming_it(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("props") / "namesrv.properties"
    escaped = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    path.write_bytes(f"{BROKER_ALLOW_KEY}={escaped}\n".encode())
    config = NamesrvConfig()
    try:
        config.load_properties_file(path)
    except ConfigError as exc:
        assert exc.key in (BROKER_ALLOW_KEY, None)
        assert config.broker_allow is None  # nothing applied
        return
    assert config.broker_allow
    assert BROKER_ALLOW_KEY not in config.properties_text()


_EXT = st.dictionaries(
    st.sampled_from(["brokerName", "brokerAddr", "clusterName", "topic", "brokerId"]),
    st.text(max_size=20),
    max_size=5,
)


@settings(max_examples=300)
@given(st.sampled_from(sorted(BROKER_WRITE_CODES)), _EXT, st.binary(max_size=64), st.booleans())
def test_refused_broker_writes_never_change_state(tmp_path_factory, code, ext, body, oneway):
    config = NamesrvConfig()
    config.broker_allow = parse_network_list("10.0.0.0/8")
    kv = KVStore(tmp_path_factory.mktemp("kv") / "kv.json")
    table = RouteTable()
    dispatcher = Dispatcher(table, kv, config)
    assert dispatcher.handle(register_request(), "conn", None).code == 0  # in-process: trusted
    generation = dispatcher.state_generation()
    answer = dispatcher.handle(
        request(code, ext, body or None, oneway=oneway), "rogue", "127.0.0.1"
    )
    assert dispatcher.state_generation() == generation
    if oneway:
        assert answer is None
    else:
        assert answer.code == ResponseCode.NO_PERMISSION
    assert dispatcher.stats.broker_refusals == {code: 1}
    assert RequestCode(code) in BROKER_WRITE_CODES
