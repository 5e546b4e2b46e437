"""An empty string is a value: every header class, both serializations, empty and blank strings.

nsctl's own codec keeps `""` as `""` both ways. Reading a request as Java does (`from_request`)
differs only over ROCKETMQ headers, where Java's decoder reads a zero-length value as null.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st

import nsctl.protocol
from nsctl.protocol import headers
from nsctl.protocol.codes import SerializeType
from nsctl.protocol.command import RemotingCommand
from nsctl.protocol.frame import decode, encode
from nsctl.protocol.headers import Header, java_ext


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


# Header classes live in several protocol modules (headers, broker_admin, ...): load them all.
for _module in pkgutil.iter_modules(nsctl.protocol.__path__):
    importlib.import_module(f"nsctl.protocol.{_module.name}")

#: Every header class, wherever it is defined.
HEADER_CLASSES = sorted(set(_subclasses(Header)), key=lambda cls: cls.__qualname__)

BLANKS = " \t\r\n\x0b\x0c\u00a0\u3000"
texts = st.one_of(
    st.just(""),
    st.text(alphabet=BLANKS, min_size=1, max_size=4),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
)
longs = st.integers(-(2**63), 2**63 - 1)


@st.composite
def header_values(draw, cls: type) -> Header:
    values = {}
    for name, _, kind in cls.FIELDS:
        present = {str: texts, int: longs, bool: st.booleans()}[kind]
        values[name] = draw(st.one_of(st.none(), present))
    return cls(**values)


def _through_the_wire(header: Header, serialize_type: SerializeType) -> RemotingCommand:
    command = RemotingCommand(code=100, ext_fields=header.to_ext(), serialize_type=serialize_type)
    return decode(encode(command))


def _as_java_reads_rocketmq(header: Header) -> Header:
    values = {name: getattr(header, name) for name, _, _ in header.FIELDS}
    return type(header)(**{name: None if v == "" else v for name, v in values.items()})


def test_every_header_class_is_covered():
    in_headers = {
        value
        for value in vars(headers).values()
        if isinstance(value, type) and issubclass(value, Header) and value is not Header
    }
    assert in_headers <= set(HEADER_CLASSES)
    assert headers.PutKVConfigRequestHeader in HEADER_CLASSES


@pytest.mark.parametrize("cls", HEADER_CLASSES, ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_empty_and_blank_strings_survive_both_serializations(cls, data):
    header = data.draw(header_values(cls))
    for serialize_type in SerializeType:
        command = _through_the_wire(header, serialize_type)
        assert type(header).from_ext(command.ext_fields) == header, serialize_type
    json_command = _through_the_wire(header, SerializeType.JSON)
    assert type(header).from_request(json_command) == header
    rocketmq_command = _through_the_wire(header, SerializeType.ROCKETMQ)
    assert type(header).from_request(rocketmq_command) == _as_java_reads_rocketmq(header)


def test_put_kv_with_an_empty_value_keeps_the_value():
    header = headers.PutKVConfigRequestHeader(namespace="app", key="keep", value="")
    assert header.to_ext() == {"namespace": "app", "key": "keep", "value": ""}
    assert headers.PutKVConfigRequestHeader.from_ext(header.to_ext()) == header


def test_empty_and_blank_numbers_and_booleans_read_as_java_reads_them():
    read = headers.RegisterBrokerRequestHeader.from_ext
    # Boolean.parseBoolean: "true" in any case, nothing else; "" is false, not absent.
    assert read({"compressed": ""}).compressed is False
    assert read({"compressed": "TRUE"}).compressed is True
    assert read({"compressed": " true"}).compressed is False
    # Long.parseLong throws on "", blanks, spaces around digits and underscores: null.
    for raw in ("", " ", " 1", "1 ", "1_000", "0x1", str(2**63)):
        assert read({"brokerId": raw}).broker_id is None, raw
    assert read({"brokerId": "+7"}).broker_id == 7
    assert read({"brokerId": "-0"}).broker_id == 0


def test_java_ext_reads_zero_length_rocketmq_values_as_null_only():
    ext = {"a": "", "b": " ", "c": "x"}
    rocketmq = decode(encode(RemotingCommand(code=1, ext_fields=ext, serialize_type=1)))
    json = decode(encode(RemotingCommand(code=1, ext_fields=ext)))
    assert rocketmq.ext_fields == json.ext_fields == ext
    assert java_ext(rocketmq) == {"b": " ", "c": "x"}
    assert java_ext(json) == ext


# --- headers behave as the dataclasses they were ----------------------------------------------


def _as_dataclass(cls: type) -> type:
    """The dataclass the header class stood for before headers had their own base."""
    import typing

    hints = typing.get_type_hints(cls)
    fields = [(name, hints[name], dataclasses.field(default=None)) for name, _, _ in cls.FIELDS]
    return dataclasses.make_dataclass(cls.__name__, fields)


@pytest.mark.parametrize("cls", HEADER_CLASSES, ids=lambda cls: cls.__name__)
def test_fields_are_the_annotations_in_order(cls):

    hints = typing.get_type_hints(cls)
    assert [name for name, _, _ in cls.FIELDS] == [n for n in hints if n != "FIELDS"]
    for name, wire, kind in cls.FIELDS:
        assert typing.get_args(hints[name]) == (kind, type(None)), name
        assert wire == "__ZONE_NAME" if name == "zone_name" else wire[0].islower(), name


@pytest.mark.parametrize("cls", HEADER_CLASSES, ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_construction_equality_and_repr_as_a_dataclass(cls, data):
    reference = _as_dataclass(cls)
    one, other = data.draw(header_values(cls)), data.draw(header_values(cls))
    one_dc, other_dc = (
        reference(**{n: getattr(h, n) for n, _, _ in cls.FIELDS}) for h in (one, other)
    )
    assert repr(one) == repr(one_dc).replace(reference.__qualname__, cls.__qualname__)
    assert (one == other) == (one_dc == other_dc)
    assert one == cls(**{n: getattr(one, n) for n, _, _ in cls.FIELDS})
    assert one != one_dc and cls() == cls()
    with pytest.raises(TypeError):
        hash(one)
    with pytest.raises(TypeError):
        cls(no_such_field=1)
