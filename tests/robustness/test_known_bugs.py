"""Regression tests for server bugs the fuzzers found.

A JSON header may carry a lone UTF-16 surrogate as an escape (`"\\ud800"`, which fastjson and
Python's json both accept). Such a string cannot be encoded as UTF-8; it used to poison the KV
store and break the connection that carried it. The protocol layer now replaces lone
surrogates with '?' on the way in, as Java's UTF-8 encoder does on the way out.
"""

from __future__ import annotations

import json
import socket

from nsctl.protocol import FrameDecoder, decode
from nsctl.server.config import NamesrvConfig
from nsctl.server.dispatch import Dispatcher
from nsctl.server.kvstore import KVStore
from nsctl.server.route_table import RouteTable
from tests.robustness.fuzzing import payload_frame

LONE_SURROGATE = "\\ud800"  # as it appears in the JSON text


def json_frame(code: int, opaque: int, ext_json: str) -> bytes:
    header = f'{{"code":{code},"flag":0,"opaque":{opaque},"version":479,"extFields":{ext_json}}}'
    return payload_frame(header.encode())


def test_a_lone_surrogate_key_does_not_break_later_kv_writes(tmp_path):
    kv = KVStore(tmp_path / "kvConfig.json")
    kv.load()
    dispatcher = Dispatcher(RouteTable(), kv, NamesrvConfig())
    bad = decode(json_frame(100, 1, f'{{"namespace":"ns","key":"{LONE_SURROGATE}","value":"v"}}'))
    dispatcher.handle(bad, "c")  # may be refused; must not poison the store
    good = decode(json_frame(100, 2, '{"namespace":"ns","key":"k","value":"v"}'))
    response = dispatcher.handle(good, "c")
    assert (response.code, response.remark) == (0, None)
    assert json.loads((tmp_path / "kvConfig.json").read_text())["configTable"]["ns"]["k"] == "v"


def test_an_answer_echoing_a_lone_surrogate_does_not_drop_the_connection(serve_process):
    miss = json_frame(101, 1, f'{{"namespace":"{LONE_SURROGATE}","key":"k"}}')
    valid = json_frame(101, 2, '{"namespace":"ns","key":"k"}')
    with socket.create_connection((serve_process.host, serve_process.port), timeout=10) as sock:
        sock.sendall(miss + valid)
        decoder, answers = FrameDecoder(), []
        while len(answers) < 2:
            data = sock.recv(65536)
            if not data:
                break
            answers.extend(decoder.feed(data))
    assert [a.opaque for a in answers] == [1, 2]
