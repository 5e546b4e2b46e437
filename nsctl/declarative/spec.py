"""The desired-state file: what the masters of a cluster (or one broker) should hold.

TOML (or JSON, the same shape)::

    [clusters.DefaultCluster.topics.Orders]      # on every master of DefaultCluster
    readQueueNums = 8                            # defaults as mqadmin's updateTopic: 8, 8, 6
    writeQueueNums = 8
    perm = 6
    order = false
    attributes = { "message.type" = "FIFO" }

    [clusters.DefaultCluster.groups.OrdersGroup] # keys as updateSubGroup's long options
    retryMaxTimes = 3

    [brokers."10.0.0.1:10911".topics.Audit]      # on this broker only (overrides the cluster)
    readQueueNums = 4

Keys are RocketMQ's own names (updateTopic's and updateSubGroup's long options, which are the
TopicConfig / SubscriptionGroupConfig fields). Values are checked as updateTopic and
updateSubGroup check them; an unknown key, a bad value or a name given twice is a `SpecError`
naming the file, the line and the key. TOML parsers give no positions for keys, so the lines
come from a scan of the text (`key_lines`).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nsctl.protocol.broker_admin import (
    GROUP_ATTRIBUTES,
    SYSTEM_GROUPS,
    TOPIC_ATTRIBUTES,
    AttributeEdits,
    GroupRetryPolicy,
    InvalidArgument,
    SubscriptionGroupConfig,
    check_attribute_values,
    validate_group,
    validate_perm,
    validate_queue_nums,
    validate_topic,
)
from nsctl.protocol.codes import DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX
from nsctl.protocol.register import TopicConfig

JAVA_INT = (-(2**31), 2**31 - 1)

#: Topic keys: file key -> TopicConfig attribute (attributes apart).
TOPIC_KEYS = {
    "readQueueNums": "read_queue_nums",
    "writeQueueNums": "write_queue_nums",
    "perm": "perm",
    "order": "order",
}
#: Group keys: file key -> SubscriptionGroupConfig attribute (groupRetryPolicy and attributes
#: apart). `notifyConsumerIdsChanged` (updateSubGroup's option) is accepted for the last one.
GROUP_KEYS = {
    "consumeEnable": "consume_enable",
    "consumeFromMinEnable": "consume_from_min_enable",
    "consumeBroadcastEnable": "consume_broadcast_enable",
    "consumeMessageOrderly": "consume_message_orderly",
    "retryQueueNums": "retry_queue_nums",
    "retryMaxTimes": "retry_max_times",
    "brokerId": "broker_id",
    "whichBrokerWhenConsumeSlowly": "which_broker_when_consume_slowly",
    "notifyConsumerIdsChangedEnable": "notify_consumer_ids_changed_enable",
}
GROUP_ALIASES = {"notifyConsumerIdsChanged": "notifyConsumerIdsChangedEnable"}
_BOOL_GROUP_KEYS = {k for k in GROUP_KEYS if k.startswith(("consume", "notify"))}


def default_topic(name: str) -> TopicConfig:
    """updateTopic's defaults: 8 read and 8 write queues, perm 6, not ordered."""
    return TopicConfig(name, 8, 8, 6, order=False, attributes={})


def default_group(name: str) -> SubscriptionGroupConfig:
    """What updateSubGroup sends without options: broadcast and from-min off, the rest as the
    broker's defaults."""
    return SubscriptionGroupConfig(
        group_name=name, consume_broadcast_enable=False, consume_from_min_enable=False
    )


class SpecError(ValueError):
    """A file that cannot be applied; the message names the file, the line and the key."""


@dataclass
class Section:
    """What one scope (a cluster's masters, or one broker) should hold; `lines` maps
    ("topic"|"group", name) to the line that declares it (0: unknown)."""

    topics: dict[str, TopicConfig] = field(default_factory=dict)
    groups: dict[str, SubscriptionGroupConfig] = field(default_factory=dict)
    lines: dict[tuple[str, str], int] = field(default_factory=dict)
    line: int = 0


@dataclass
class DesiredState:
    """The whole file: sections per cluster name and per broker address."""

    source: str = "-"
    clusters: dict[str, Section] = field(default_factory=dict)
    brokers: dict[str, Section] = field(default_factory=dict)

    def where(self, scope: str, key: str, kind: str | None = None, name: str | None = None) -> str:
        """`FILE:LINE` of a section (or of one topic or group in it)."""
        section = (self.clusters if scope == "clusters" else self.brokers).get(key)
        line = 0
        if section is not None:
            line = section.lines.get((kind, name), 0) if kind else section.line
        return f"{self.source}:{line}" if line else self.source

    def for_broker(
        self, cluster: str, address: str
    ) -> tuple[dict[str, TopicConfig], dict[str, SubscriptionGroupConfig]]:
        """What the master at `address` of `cluster` should hold: the cluster's section with
        the broker's own on top."""
        topics: dict[str, TopicConfig] = {}
        groups: dict[str, SubscriptionGroupConfig] = {}
        for section in (self.clusters.get(cluster), self.brokers.get(address)):
            if section is not None:
                topics.update(section.topics)
                groups.update(section.groups)
        return topics, groups


# --- reading -----------------------------------------------------------------------------


def load(path: str | Path) -> DesiredState:
    """Read and check the file at `path` (`-`: stdin); TOML or JSON by the extension, else by
    the content."""
    name = str(path)
    try:
        text = sys.stdin.read() if name == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"{name}: cannot read it: {error}") from None
    return parse(text, name, fmt=format_of(name, text))


def format_of(name: str, text: str) -> str:
    lower = name.lower()
    if lower.endswith(".json"):
        return "json"
    if lower.endswith(".toml"):
        return "toml"
    return "json" if text.lstrip().startswith("{") else "toml"


def parse(text: str, source: str = "-", *, fmt: str = "toml") -> DesiredState:
    """The desired state `text` describes; `SpecError` naming `source`, the line and the key
    for the first problem."""
    lines = key_lines(text, fmt)
    data = _load_json(text, source, lines) if fmt == "json" else _load_toml(text, source)

    def problem(path: tuple[str, ...], message: str) -> SpecError:
        return SpecError(f"{source}:{_line_of(lines, path)}: {_dotted(path)}: {message}")

    state = DesiredState(source)
    if not isinstance(data, dict):
        raise SpecError(f"{source}:1: the file must be a table (an object)")
    for key, value in data.items():
        if key not in ("clusters", "brokers"):
            raise problem((key,), "unknown key (expected clusters or brokers)")
        if not isinstance(value, dict):
            raise problem((key,), "expected a table")
        into = state.clusters if key == "clusters" else state.brokers
        for scope, body in value.items():
            path = (key, scope)
            if not scope.strip() or scope != scope.strip():
                raise problem(path, "a name without surrounding spaces, not empty")
            if key == "brokers" and not _is_address(scope):
                raise problem(path, "expected a broker address host:port")
            if not isinstance(body, dict):
                raise problem(path, "expected a table with topics and groups")
            into[scope] = _section(body, path, problem, lines)
    return state


def _section(body: dict, path: tuple[str, ...], problem, lines) -> Section:
    section = Section(line=_line_of(lines, path))
    for key, value in body.items():
        if key not in ("topics", "groups"):
            raise problem((*path, key), "unknown key (expected topics or groups)")
        if not isinstance(value, dict):
            raise problem((*path, key), "expected a table of names")
        for name, fields in value.items():
            where = (*path, key, name)
            if not isinstance(fields, dict):
                raise problem(where, "expected a table")
            try:
                if key == "topics":
                    section.topics[name] = _topic(name, fields, where, problem)
                else:
                    section.groups[name] = _group(name, fields, where, problem)
            except InvalidArgument as error:
                raise problem(where, str(error)) from None
            section.lines[(key[:-1], name)] = _line_of(lines, where)
    return section


def _topic(name: str, fields: dict, where: tuple[str, ...], problem) -> TopicConfig:
    validate_topic(name)
    if name.startswith((RETRY_GROUP_TOPIC_PREFIX, DLQ_GROUP_TOPIC_PREFIX)):
        raise InvalidArgument("a group's retry or DLQ topic: it comes and goes with its group")
    config = default_topic(name)
    for key, value in fields.items():
        if key == "attributes":
            config.attributes = _attributes(value, (*where, key), problem, TOPIC_ATTRIBUTES)
        elif key in TOPIC_KEYS:
            want = bool if key == "order" else int
            setattr(config, TOPIC_KEYS[key], _typed(value, want, (*where, key), problem))
        else:
            raise problem((*where, key), f"unknown key (expected {', '.join(TOPIC_KEYS)}, "
                          "attributes)")  # fmt: skip
    for key, check in (
        ("readQueueNums", lambda: validate_queue_nums(config.read_queue_nums, 1)),
        ("writeQueueNums", lambda: validate_queue_nums(1, config.write_queue_nums)),
        ("perm", lambda: validate_perm(config.perm)),
    ):
        _check((*where, key), check, problem)
    return config


def _group(name: str, fields: dict, where: tuple[str, ...], problem) -> SubscriptionGroupConfig:
    validate_group(name)
    if name in SYSTEM_GROUPS:
        raise InvalidArgument("a group every broker predefines: it is not managed by files")
    config = default_group(name)
    seen: dict[str, str] = {}
    for given, value in fields.items():
        key = GROUP_ALIASES.get(given, given)
        if key in seen:
            raise problem((*where, given), f"given twice (as {seen[key]} and {given})")
        seen[key] = given
        path = (*where, given)
        if key == "attributes":
            config.attributes = _attributes(value, path, problem, GROUP_ATTRIBUTES)
        elif key == "groupRetryPolicy":
            config.group_retry_policy = _retry_policy(value, path, problem)
        elif key in GROUP_KEYS:
            want = bool if key in _BOOL_GROUP_KEYS else int
            number = _typed(value, want, path, problem)
            if key == "retryQueueNums" and number < 0:
                raise problem(path, f"must be 0 or more, not {number}")
            setattr(config, GROUP_KEYS[key], number)
        else:
            known = ", ".join([*GROUP_KEYS, "groupRetryPolicy", "attributes"])
            raise problem(path, f"unknown key (expected {known})")
    return config


def _typed(value: Any, want: type, path, problem) -> Any:
    if want is bool:
        if not isinstance(value, bool):
            raise problem(path, f"expected true or false, not {_shown(value)}")
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise problem(path, f"expected a whole number, not {_shown(value)}")
    if not JAVA_INT[0] <= value <= JAVA_INT[1]:
        raise problem(path, f"{value} does not fit a Java int")
    return value


def _check(path, check: Callable[[], Any], problem) -> None:
    try:
        check()
    except InvalidArgument as error:
        raise problem(path, str(error)) from None


def _attributes(value: Any, path, problem, known) -> dict[str, str]:
    if not isinstance(value, dict):
        raise problem(path, 'expected a table of strings, e.g. { "message.type" = "FIFO" }')
    for key, text in value.items():
        if not isinstance(text, str):
            raise problem((*path, key), f"expected a string, not {_shown(text)}")
        if not key or any(c in key for c in "+-=,"):
            raise problem((*path, key), "kv string format wrong.")
    _check(path, lambda: check_attribute_values(AttributeEdits(dict(value)), known), problem)
    return dict(value)


_POLICY_KEYS = {"type", "exponentialRetryPolicy", "customizedRetryPolicy"}
_POLICY_TYPES = ("CUSTOMIZED", "EXPONENTIAL")


def _retry_policy(value: Any, path, problem) -> GroupRetryPolicy:
    if not isinstance(value, dict):
        raise problem(path, 'expected a table, e.g. { type = "EXPONENTIAL", ... }')
    for key in value:
        if key not in _POLICY_KEYS:
            raise problem((*path, key), f"unknown key (expected {', '.join(sorted(_POLICY_KEYS))})")
    if value.get("type", "CUSTOMIZED") not in _POLICY_TYPES:
        raise problem((*path, "type"), f"expected one of {'|'.join(_POLICY_TYPES)}")
    for key in ("exponentialRetryPolicy", "customizedRetryPolicy"):
        if key in value and not isinstance(value[key], dict):
            raise problem((*path, key), "expected a table")
    try:
        return GroupRetryPolicy.from_wire(value)
    except ValueError as error:
        raise problem(path, str(error)) from None


def _shown(value: Any) -> str:
    return (
        json.dumps(value) if isinstance(value, str | bool | int | float) else type(value).__name__
    )


def _is_address(text: str) -> bool:
    host, sep, port = text.rpartition(":")
    return bool(sep and host and port.isdigit() and 0 < int(port) < 65536)


_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(p if _BARE.fullmatch(p) else json.dumps(p) for p in path)


def _line_of(lines: dict[tuple[str, ...], int], path: tuple[str, ...]) -> int:
    """The line of `path`, or of its nearest ancestor the scan found (1 at worst)."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1


def _load_toml(text: str, source: str) -> Any:
    from nsctl.toml_text import TomlSyntaxError, parse_toml

    try:
        return parse_toml(text)
    except TomlSyntaxError as error:
        line, message = error.line, error.message
        if found := re.match(r"Cannot declare \((.*)\) twice", message):
            keys = re.findall(r"'((?:[^'\\]|\\.)*)'", found.group(1))
            message = f"{_dotted(tuple(keys))}: declared twice (a duplicate name)"
        elif message.startswith("Cannot overwrite a value"):
            key = _key_on_line(text, line)
            message = f"{key + ': ' if key else ''}given twice (a duplicate name)"
        return _raise(SpecError(f"{source}:{line or 1}: invalid TOML: {message}"))


def _load_json(text: str, source: str, lines) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                line = _duplicate_json_line(text, key)
                raise SpecError(
                    f"{source}:{line}: {json.dumps(key)}: given twice (a duplicate name)"
                )
            result[key] = value
        return result

    try:
        return json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as error:
        raise SpecError(f"{source}:{error.lineno}: invalid JSON: {error.msg}") from None


def _raise(error: Exception) -> Any:
    raise error


# --- where keys are ------------------------------------------------------------------------


def key_lines(text: str, fmt: str = "toml") -> dict[tuple[str, ...], int]:
    """Where each key of the file is: its path (as the parsed data nests it) -> its line
    (the first line that names it). A best-effort scan; keys it misses get an ancestor's line."""
    if fmt == "json":
        return _json_lines(text)
    from nsctl.toml_text import key_lines as toml_key_lines

    return toml_key_lines(text)


def _key_on_line(text: str, line: int) -> str | None:
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return None
    from nsctl.toml_text import key_path

    parsed = key_path(lines[line - 1].strip())
    return _dotted(tuple(parsed[0])) if parsed else None


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+|\s+')


def _json_lines(text: str) -> dict[tuple[str, ...], int]:
    found: dict[tuple[str, ...], int] = {}
    holders: list[str | None] = []  # per open container: the key that holds it
    path: list[str] = []
    line = 1
    last_string: str | None = None  # a string token not yet followed by anything else
    key: str | None = None  # the key whose value comes next
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token.isspace():
            line += token.count("\n")
            continue
        if token == ":" and last_string is not None:
            key = last_string
            found.setdefault((*path, key), line)
        elif token in "{[":
            holders.append(key)
            if key is not None:
                path.append(key)
            key = None
        elif token in "}]":
            if holders and holders.pop() is not None and path:
                path.pop()
        elif token == ",":
            key = None
        last_string = None
        if token.startswith('"'):
            try:
                last_string = json.loads(token)
            except ValueError:
                last_string = None
            line += token.count("\n")
    return found


def _duplicate_json_line(text: str, key: str) -> int:
    """The line of the second `"key":` in the text (the duplicate)."""
    pattern = re.compile(re.escape(json.dumps(key)) + r"\s*:")
    matches = list(pattern.finditer(text))
    at = matches[1].start() if len(matches) > 1 else (matches[0].start() if matches else 0)
    return text.count("\n", 0, at) + 1
