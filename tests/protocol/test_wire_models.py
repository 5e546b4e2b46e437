"""The models built with `wire_model` behave as the `@dataclass(slots=True)` classes they were:
equality, repr, hashing and the dataclass functions."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from nsctl.protocol import models
from nsctl.protocol.models import BrokerData, QueueData, TopicRouteData, WireModel

MODELS = [
    cls
    for cls in vars(models).values()
    if isinstance(cls, type) and issubclass(cls, WireModel) and cls.__module__ == models.__name__
    if cls is not WireModel
]


def _reference(cls: type) -> type:
    """The same fields as a dataclass with generated __eq__ and __repr__."""
    specs = [(f.name, typing.Any, f) for f in dataclasses.fields(cls)]
    return dataclasses.make_dataclass(cls.__name__, specs, slots=True)


def _samples(cls: type) -> list:
    """A few instances: defaults, and each field changed on its own."""
    required = {
        f.name: "x"
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    first = cls(**required)
    found = [first, cls(**required)]
    for f in dataclasses.fields(cls):
        found.append(dataclasses.replace(first, **{f.name: {"changed": 1}}))
    return found


def test_the_models_are_covered():
    assert {QueueData, BrokerData, TopicRouteData} <= set(MODELS)


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
def test_equality_repr_and_hash_as_a_generated_dataclass(cls):
    reference = _reference(cls)
    samples = _samples(cls)
    as_reference = [reference(**dataclasses.asdict(s)) for s in samples]
    for one, one_ref in zip(samples, as_reference, strict=True):
        assert repr(one) == repr(one_ref).replace(reference.__qualname__, cls.__qualname__)
        for other, other_ref in zip(samples, as_reference, strict=True):
            assert (one == other) == (one_ref == other_ref)
            assert (one != other) == (one_ref != other_ref)
        assert one != one_ref  # another class, as between two dataclasses
        with pytest.raises(TypeError):
            hash(one)
    assert dataclasses.is_dataclass(cls) and "__slots__" in vars(cls)


def test_queue_data_equality_is_field_by_field():
    assert QueueData("a", 8, 8, 6, 0) == QueueData("a", 8, 8, 6, 0)
    assert QueueData("a", 8, 8, 6, 0) != QueueData("a", 8, 8, 2, 0)
    assert QueueData("a") != "QueueData(broker_name='a')"
