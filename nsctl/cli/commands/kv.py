"""KV config commands: getKV, putKV (updateKvConfig), deleteKV (deleteKvConfig), getKVList."""

from __future__ import annotations

from typing import Annotated

import typer

from nsctl.cli.commands.each import EachOption, show_each
from nsctl.cli.fanout import absent_on, report_fanout
from nsctl.cli.options import nameserver_command
from nsctl.cli.render import emit_json, emit_lines, emit_table
from nsctl.cli.target import Output, Target

NamespaceOption = Annotated[
    str, typer.Option("-s", "--namespace", help="KV namespace.", show_default=False)
]
KeyOption = Annotated[str, typer.Option("-k", "--key", help="Key.", show_default=False)]


@nameserver_command("getKV", help="Print the value of a key (exit 1 if it does not exist).")
def get_kv(
    target: Target, namespace: NamespaceOption, key: KeyOption, each: EachOption = False
) -> None:
    if each:
        from nsctl.client.errors import KVConfigNotFoundError

        show_each(
            target,
            f"{namespace}/{key} on each NameServer",
            lambda client: client.get_kv_config(namespace, key),
            lambda value: {f"{namespace}/{key}": value},
            absent=(KVConfigNotFoundError,),
        )
        return
    value = target.manager.invoke(lambda client: client.get_kv_config(namespace, key))
    if target.output == Output.json:
        emit_json({"namespace": namespace, "key": key, "value": value})
    else:
        emit_lines([value])


@nameserver_command(
    "putKV",
    aliases=("updateKvConfig",),
    help="Create or update a key on every NameServer (they do not replicate).",
)
def put_kv(
    target: Target,
    namespace: NamespaceOption,
    key: KeyOption,
    value: Annotated[
        str,
        typer.Option(
            "-v",
            "--value",
            help="Value (trimmed, as mqadmin does). @FILE: the file's content, byte for byte; "
            "-: standard input, byte for byte; @@TEXT: the value @TEXT.",
            show_default=False,
        ),
    ],
) -> None:
    value = _value(value)
    results = target.manager.broadcast(lambda client: client.put_kv_config(namespace, key, value))
    report_fanout(
        target,
        results,
        ok_line=lambda address, _: (
            "create or update kv config to namespace success."
            if target.output == Output.plain
            else f"{address}: {namespace}/{key} = {value}"
        ),
        summary={"namespace": namespace, "key": key, "value": value},
    )


#: Bytes a value may take: a frame holds at most this much in all (the NameServer's own
#: limit), and the header around the value needs some of it.
HEADER_ROOM = 1024


def _value(given: str) -> str:
    """The value `-v` stands for: literal (trimmed, as mqadmin trims it), a file's or stdin's
    content untouched, or `@@...` for a value that starts with `@`."""
    import sys

    from nsctl.cli.failures import EXIT_USAGE, fail
    from nsctl.protocol.frame import DEFAULT_MAX_FRAME_LENGTH

    if given.startswith("@@"):
        text = given[1:]
    elif given.startswith("@"):
        path = given[1:]
        try:
            with open(path, "rb") as source:
                data = source.read(DEFAULT_MAX_FRAME_LENGTH + 1)
        except OSError as error:
            fail(f"-v @{path}: {error.strerror or error}", EXIT_USAGE)
        text = _decoded(data, f"-v @{path}")
    elif given == "-":
        text = _decoded(sys.stdin.buffer.read(DEFAULT_MAX_FRAME_LENGTH + 1), "-v - (stdin)")
    else:
        text = given.strip()
    size = len(text.encode("utf-8"))
    if size > DEFAULT_MAX_FRAME_LENGTH - HEADER_ROOM:
        amount = f"{size} bytes" if size <= DEFAULT_MAX_FRAME_LENGTH else "over 16 MiB"
        fail(
            f"the value is {amount}: a NameServer takes frames of at most "
            f"{DEFAULT_MAX_FRAME_LENGTH} bytes ({DEFAULT_MAX_FRAME_LENGTH // 1024 // 1024} MiB), "
            "header included",
            EXIT_USAGE,
        )
    return text


def _decoded(data: bytes, what: str) -> str:
    from nsctl.cli.failures import EXIT_USAGE, fail

    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        fail(f"{what}: not UTF-8 text (byte {error.start}); KV values are text", EXIT_USAGE)


@nameserver_command(
    "deleteKV", aliases=("deleteKvConfig",), help="Delete a key on every NameServer."
)
def delete_kv(target: Target, namespace: NamespaceOption, key: KeyOption) -> None:
    results = target.manager.broadcast(lambda client: delete_key(client, namespace, key))
    report_fanout(
        target,
        results,
        ok_line=lambda address, existed: (
            "delete kv config from namespace success."
            if target.output == Output.plain
            else f"{address}: deleted {namespace}/{key}"
            + ("" if existed else " (it did not exist)")
        ),
        json_fields=lambda address, existed: {"existed": existed},
        summary={"namespace": namespace, "key": key},
        warning=absent_on(results, f"key {namespace}/{key}"),
    )


def delete_key(client, namespace: str, key: str) -> bool:
    """Delete the key on one NameServer; whether it existed there (asked first: deleting an
    absent key succeeds silently on the server)."""
    from nsctl.client.errors import KVConfigNotFoundError

    try:
        client.get_kv_config(namespace, key)
        existed = True
    except KVConfigNotFoundError:
        existed = False
    client.delete_kv_config(namespace, key)
    return existed


@nameserver_command("getKVList", help="List the keys and values of a namespace.")
def get_kv_list(target: Target, namespace: NamespaceOption, each: EachOption = False) -> None:
    if each:
        from nsctl.client.errors import KVConfigNotFoundError

        show_each(
            target,
            f"Namespace {namespace} on each NameServer",
            lambda client: client.get_kv_list_by_namespace(namespace),
            dict,
            absent=(KVConfigNotFoundError,),
        )
        return
    table = target.manager.invoke(lambda client: client.get_kv_list_by_namespace(namespace))
    if target.output == Output.json:
        emit_json({"table": table})
    elif target.output == Output.plain:
        emit_lines(f"{key}={value}" for key, value in sorted(table.items()))
    else:
        emit_table(f"Namespace {namespace}", ("Key", "Value"), sorted(table.items()))
