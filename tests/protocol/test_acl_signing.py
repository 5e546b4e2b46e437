"""ACL signing against every signed request captured from real 5.3.3 clients and brokers.

Each captured request is re-signed from its own ext fields with AccessKey and Signature taken
out; the Signature must come out the same, and re-encoding gives the captured frame byte for
byte. A property test checks the signer against a reference written from the description in
tests/data/frames-acl-5.3.3/index.md (nothing of nsctl's signer is used in it).
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nsctl.protocol.acl import (
    Credentials,
    sign,
    sign_command,
    signature,
    signing_content,
)
from nsctl.protocol.codes import SerializeType
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.frame import decode, encode
from tests.protocol.fixtures import DATA

FOLDERS = ("frames-topic-admin-5.3.3", "frames-acl-5.3.3")
#: The secret of each access key in the captures (the stock tools.yml pair, the user created
#: in 008, and the key the unknown-user run signed with).
SECRETS = {"rocketmq2": "12345678", "normaluser": "normalpass1", "nosuchuser": "12345678"}
#: 003 signed with the right access key and a wrong secret.
WRONG_SECRET = {"frames-acl-5.3.3/003_wrongsecret_updateTopic_request.bin": "wrongsecret"}
#: mqadmin signs an empty value as nothing whatever the serialization; a 5.3.3 broker reading
#: ROCKETMQ headers checks `null` in its place, so this request was refused.
JAVA_CLIENT_ROCKETMQ_EMPTY = "frames-acl-5.3.3/011_signedRocketmqSer_updateTopic_request.bin"


@dataclasses.dataclass(frozen=True)
class Signed:
    name: str
    raw: bytes
    command: RemotingCommand

    @property
    def secret(self) -> str:
        return WRONG_SECRET.get(self.name) or SECRETS[self.command.ext_fields["AccessKey"]]


def _signed_requests() -> list[Signed]:
    found = []
    for folder in FOLDERS:
        for line in (DATA / folder / "frames.jsonl").read_text().splitlines():
            meta = json.loads(line)
            if "Signature" not in (meta["header"].get("extFields") or {}):
                continue
            raw = (DATA / folder / meta["file"]).read_bytes()
            found.append(Signed(f"{folder}/{meta['file']}", raw, decode(raw)))
    return found


SIGNED = _signed_requests()


def _unsigned(command: RemotingCommand) -> dict[str, str]:
    return {k: v for k, v in command.ext_fields.items() if k not in ("AccessKey", "Signature")}


def test_every_signed_request_is_here():
    by_folder = {folder: sum(s.name.startswith(folder) for s in SIGNED) for folder in FOLDERS}
    assert by_folder == {"frames-topic-admin-5.3.3": 57, "frames-acl-5.3.3": 12}


@pytest.mark.parametrize("captured", SIGNED, ids=lambda s: s.name)
def test_resigning_reproduces_the_captured_request(captured):
    command = captured.command
    credentials = Credentials(command.ext_fields["AccessKey"], captured.secret)
    # Java's client signs an empty value as nothing, whatever the serialization (see 011).
    rule = SerializeType.JSON if captured.name == JAVA_CLIENT_ROCKETMQ_EMPTY else None
    rule = command.serialize_type if rule is None else rule
    signed = sign(_unsigned(command), command.body, credentials, rule)
    assert signed["Signature"] == command.ext_fields["Signature"]
    assert signed.keys() == command.ext_fields.keys()
    # In the captured (HashMap) order, the frame is the captured one byte for byte.
    in_captured_order = {name: signed[name] for name in command.ext_fields}
    assert encode(dataclasses.replace(command, ext_fields=in_captured_order)) == captured.raw


def test_the_index_examples():
    first = next(s for s in SIGNED if s.name.endswith("001_signed_updateTopic_request.bin"))
    assert signing_content(first.command.ext_fields, None) == (
        b"rocketmq2TBW102falsefalse68AclTSINGLE_TAG08"
    )
    assert signature(signing_content(first.command.ext_fields, None), "12345678") == (
        "iV4/xI8ZtU/cskJV6+6qwjTsuRU="
    )
    status = next(s for s in SIGNED if s.name.endswith("004_signed_brokerStatus_request.bin"))
    assert signing_content(status.command.ext_fields, None) == b"rocketmq2"


def test_rocketmq_empty_value_is_signed_as_the_broker_checks_it():
    refused = next(s for s in SIGNED if s.name == JAVA_CLIENT_ROCKETMQ_EMPTY)
    accepted = next(s for s in SIGNED if "014_pysignedRocketmqNullEmpty" in s.name)
    credentials = Credentials("rocketmq2", "12345678")
    for captured in (refused, accepted):
        assert captured.command.serialize_type == SerializeType.ROCKETMQ
        assert captured.command.ext_fields["attributes"] == ""
    # Our signer signs `null` for the empty attributes: what 014 sent and the broker accepted,
    # not what mqadmin sent in 011 (refused: `check signature failed.`).
    ours = sign_command(
        dataclasses.replace(refused.command, ext_fields=_unsigned(refused.command)), credentials
    )
    assert ours.ext_fields["Signature"] != refused.command.ext_fields["Signature"]
    content = signing_content(ours.ext_fields, None, SerializeType.ROCKETMQ)
    assert content == b"rocketmq2nullTBW102falsefalse68AclT2SINGLE_TAG08"
    resigned = sign(_unsigned(accepted.command), None, credentials, SerializeType.ROCKETMQ)
    assert resigned["Signature"] == accepted.command.ext_fields["Signature"]
    # The JSON rule is the one mqadmin used in 011.
    as_json = sign(_unsigned(refused.command), None, credentials, SerializeType.JSON)
    assert as_json["Signature"] == refused.command.ext_fields["Signature"]


def test_sign_command_copies_and_covers_the_body():
    body = b'{"groupName":"G"}'
    command = RemotingCommand(code=200, ext_fields={"x": "1"}, body=body)
    credentials = Credentials("ak", "sk", security_token="tok")
    signed = sign_command(command, credentials)
    assert command.ext_fields == {"x": "1"}  # the caller's command is not changed
    assert signed.ext_fields["AccessKey"] == "ak"
    assert signed.ext_fields["SecurityToken"] == "tok"
    assert signing_content(signed.ext_fields, body) == b"aktok1" + body
    assert sign_command(command, None) is command


def test_credentials():
    credentials = Credentials("ak", "secret-value", "token-value")
    assert "secret-value" not in repr(credentials) and "token-value" not in repr(credentials)
    with pytest.raises(ValueError):
        Credentials("", "sk")
    with pytest.raises(ValueError):
        Credentials("ak", "")
    assert Credentials.from_env({}) is None
    env = {"NSCTL_ACCESS_KEY": "ak", "NSCTL_SECRET_KEY": "sk"}
    assert Credentials.from_env(env) == Credentials("ak", "sk")
    assert Credentials.from_env({**env, "NSCTL_SECURITY_TOKEN": "t"}).security_token == "t"
    with pytest.raises(ValueError, match="NSCTL_ACCESS_KEY is set but NSCTL_SECRET_KEY is not"):
        Credentials.from_env({"NSCTL_ACCESS_KEY": "ak"})
    with pytest.raises(ValueError, match="NSCTL_SECRET_KEY is set but NSCTL_ACCESS_KEY is not"):
        Credentials.from_env({"NSCTL_SECRET_KEY": "sk"})


# --- a reference signer, from the prose of frames-acl-5.3.3/index.md ------------------------


def _java_units(text: str) -> list[int]:
    """A Java String is UTF-16 code units; compareTo compares them one by one."""
    units = []
    for char in text:
        point = ord(char)
        if point > 0xFFFF:
            point -= 0x10000
            units += [0xD800 + (point >> 10), 0xDC00 + (point & 0x3FF)]
        else:
            units.append(point)
    return units


def _java_compare(a: str, b: str) -> int:
    ua, ub = _java_units(a), _java_units(b)
    for x, y in zip(ua, ub, strict=False):
        if x != y:
            return x - y
    return len(ua) - len(ub)


def _hmac_sha1(key: bytes, message: bytes) -> bytes:
    """RFC 2104 with SHA-1 (64-byte blocks)."""
    if len(key) > 64:
        key = hashlib.sha1(key).digest()
    key = key.ljust(64, b"\0")
    inner = hashlib.sha1(bytes(k ^ 0x36 for k in key) + message).digest()
    return hashlib.sha1(bytes(k ^ 0x5C for k in key) + inner).digest()


def reference_sign(ext, body, access_key, secret_key, token, rocketmq):
    fields = dict(ext)
    fields["AccessKey"] = access_key  # added after the header's fields were copied in
    if token is not None:
        fields["SecurityToken"] = token
    names = [n for n in fields if n != "Signature" and not (rocketmq and n == "")]
    data = ""
    for name in sorted(names, key=functools.cmp_to_key(_java_compare)):
        value = fields[name]
        # The 5.3.3 broker reads a zero-length ROCKETMQ value as null and signs "null".
        data += "null" if rocketmq and value == "" else value
    content = data.encode("utf-8") + (body or b"")
    fields["Signature"] = base64.b64encode(_hmac_sha1(secret_key.encode("utf-8"), content)).decode()
    return fields


no_surrogates = st.characters(exclude_categories=("Cs",))
names = st.one_of(
    st.sampled_from(["AccessKey", "Signature", "SecurityToken", "topic", "a", "B", "_x", ""]),
    st.text(no_surrogates, max_size=6),
)
values = st.one_of(st.just(""), st.text(no_surrogates, max_size=10))


@given(
    ext=st.dictionaries(names, values, max_size=8),
    body=st.one_of(st.none(), st.binary(max_size=64)),
    access_key=st.text(no_surrogates, min_size=1, max_size=10),
    secret_key=st.text(no_surrogates, min_size=1, max_size=80),
    token=st.one_of(st.none(), st.text(no_surrogates, max_size=10)),
    serialize_type=st.sampled_from(list(SerializeType)),
)
def test_signer_matches_the_reference(ext, body, access_key, secret_key, token, serialize_type):
    credentials = Credentials(access_key, secret_key, token)
    rocketmq = serialize_type == SerializeType.ROCKETMQ
    expected = reference_sign(ext, body, access_key, secret_key, token, rocketmq)
    assert sign(ext, body, credentials, serialize_type) == expected
