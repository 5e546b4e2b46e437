"""`nsctl config ...`: the contexts of the configuration file (list, show, choose, create or
update, delete). None of these talk to a NameServer; the file format and the precedence are
nsctl.client.contexts'."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from nsctl.cli.failures import EXIT_ERROR, EXIT_USAGE, fail
from nsctl.cli.options import plain_command, sub_group
from nsctl.cli.render import emit_json, emit_lines, emit_table
from nsctl.cli.target import Output

config = sub_group(
    "config",
    help="Contexts: named sets of NameServers, TLS, timeout, retries, ACL keys, output format "
    "and KV namespaces, in $XDG_CONFIG_HOME/nsctl/config.toml (or $NSCTL_CONFIG).",
)

OutputOption = Annotated[
    Output,
    typer.Option(
        "-o", "--output", case_sensitive=False, help="table, json (for scripts) or plain."
    ),
]

#: The keys `config view` and `get-contexts` never show.
SECRET_KEYS = ("secret-key",)
#: Where set-context --from-tools-yml keeps a secret key: beside the file, mode 0600.
SECRETS_DIR = "secrets"


def _load():
    from nsctl.client.contexts import load

    return load()


def _masked(values: dict[str, Any]) -> dict[str, Any]:
    return {k: ("****" if k in SECRET_KEYS else v) for k, v in values.items()}


def _keys_of(values: dict[str, Any]) -> str:
    access = values.get("access-key") or (
        f"${values['access-key-env']}" if "access-key-env" in values else ""
    )
    if "secret-key-env" in values:
        secret = f"${values['secret-key-env']}"
    elif "secret-key-file" in values:
        secret = f"file {values['secret-key-file']}"
    else:
        secret = "inline" if "secret-key" in values else ""
    return f"{access} / {secret}" if access or secret else ""


@plain_command(
    "get-contexts",
    group=config,
    help="List the contexts of the configuration file; the current one is marked.",
)
def get_contexts(output: OutputOption = Output.table) -> None:
    loaded = _load()
    if output == Output.json:
        emit_json(
            {
                "file": str(loaded.path),
                "current": loaded.current,
                "contexts": [
                    {"name": name, "current": name == loaded.current, **_masked(c.values)}
                    for name, c in loaded.contexts.items()
                ],
            }
        )
        return
    rows = []
    for name, context in loaded.contexts.items():
        values = context.values
        rows.append(
            (
                "*" if name == loaded.current else "",
                name,
                values.get("namesrv") or values.get("address-server", ""),
                "insecure" if values.get("tls-insecure") else ("on" if values.get("tls") or
                                                               values.get("tls-ca") else ""),
                _keys_of(values),
                values.get("output", ""),
                ",".join(values.get("namespaces", [])),
            )
        )  # fmt: skip
    if output == Output.plain:
        emit_lines(f"{r[0] or ' '} {r[1]}\t{r[2]}" for r in rows)
    elif rows:
        columns = ("Current", "Name", "NameServers", "TLS", "Keys", "Output", "Namespaces")
        emit_table(f"Contexts in {loaded.path}", columns, rows)
    else:
        emit_lines([f"no contexts in {loaded.path} (nsctl config set-context NAME -n ADDR)"])


@plain_command("current-context", group=config, help="Print the current context's name.")
def current_context() -> None:
    loaded = _load()
    if loaded.current is None:
        fail(f"no current context in {loaded.path} (nsctl config use-context NAME)", EXIT_ERROR)
    emit_lines([loaded.current])


NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="The context's name.")]


@plain_command(
    "use-context", group=config, help="Make a context the current one (used when no --context)."
)
def use_context(name: NameArgument) -> None:
    loaded = _load()
    if name not in loaded.contexts:
        fail(f"no context {name!r} in {loaded.path}", EXIT_ERROR)
    if loaded.current == name:
        emit_lines([f"no change: {name} is the current context"])
        return
    loaded.current = name
    loaded.save()
    emit_lines([f"current context: {name}"])


@plain_command(
    "delete-context",
    group=config,
    help="Delete a context (and the secret key file set-context --from-tools-yml made for it).",
)
def delete_context(name: NameArgument) -> None:
    loaded = _load()
    context = loaded.contexts.pop(name, None)
    if context is None:
        fail(f"no context {name!r} in {loaded.path}", EXIT_ERROR)
    if loaded.current == name:
        loaded.current = None
    loaded.save()
    ours = loaded.path.parent / SECRETS_DIR / f"{name}.secret-key"
    if context.values.get("secret-key-file") == f"{SECRETS_DIR}/{name}.secret-key":
        ours.unlink(missing_ok=True)
    emit_lines([f"deleted context {name}"])


def _opt(*names: str, help: str, **more: Any) -> Any:
    return typer.Option(*names, help=help, show_default=False, **more)


#: Keys one key replaces when it is set (they exclude each other).
_REPLACES = {
    "namesrv": ("address-server",),
    "address-server": ("namesrv",),
    "access-key": ("access-key-env",),
    "access-key-env": ("access-key",),
    "secret-key-env": ("secret-key", "secret-key-file"),
    "secret-key-file": ("secret-key", "secret-key-env"),
}


@plain_command(
    "set-context",
    group=config,
    help="Create a context, or change the keys given of an existing one (--unset KEY removes "
    "one). ACL secrets are referenced, never written inline: an environment variable "
    "(--secret-key-env) or a file (--secret-key-file); --from-tools-yml copies mqadmin's "
    "conf/tools.yml keys, the secret into a mode 0600 file beside the configuration.",
)
def set_context(
    name: NameArgument,
    addresses: Annotated[  # not `namesrv`: this command talks to no NameServer
        str | None, _opt("-n", "--namesrv", help="NameServer addresses, 'host:port;host:port'.")
    ] = None,
    address_server: Annotated[
        str | None, _opt("--address-server", help="URL of an HTTP address server.")
    ] = None,
    tls: Annotated[bool, typer.Option("--tls", help="Connect with TLS.")] = False,
    tls_ca: Annotated[
        Path | None,
        _opt(
            "--tls-ca",
            exists=True,
            dir_okay=False,
            help="PEM CA file to verify the server against.",
        ),
    ] = None,
    tls_insecure: Annotated[
        bool, typer.Option("--tls-insecure", help="TLS without verifying the server.")
    ] = False,
    timeout: Annotated[
        float | None, _opt("--timeout", min=0.01, help="Seconds to wait for each request.")
    ] = None,
    retries: Annotated[
        int | None, _opt("--retries", min=0, help="Retries after the first attempt.")
    ] = None,
    access_key: Annotated[str | None, _opt("--access-key", help="ACL access key.")] = None,
    access_key_env: Annotated[
        str | None, _opt("--access-key-env", help="Variable holding the ACL access key.")
    ] = None,
    secret_key_env: Annotated[
        str | None, _opt("--secret-key-env", help="Variable holding the ACL secret key.")
    ] = None,
    secret_key_file: Annotated[
        Path | None,
        _opt(
            "--secret-key-file",
            exists=True,
            dir_okay=False,
            help="File holding the ACL secret key.",
        ),
    ] = None,
    output: Annotated[
        Output | None,
        _opt("-o", "--output", case_sensitive=False, help="Default output: table, json, plain."),
    ] = None,
    namespaces: Annotated[
        list[str] | None,
        _opt("-s", "--namespace", help="A KV namespace for kv diff/sync/export (repeatable)."),
    ] = None,
    from_tools_yml: Annotated[
        Path | None,
        _opt(
            "--from-tools-yml",
            exists=True,
            dir_okay=False,
            help="mqadmin's conf/tools.yml: take accessKey and secretKey.",
        ),
    ] = None,
    unset: Annotated[
        list[str] | None, _opt("--unset", help="Remove this key from the context (repeatable).")
    ] = None,
) -> None:
    from nsctl.client.contexts import CONTEXT_KEYS, Context, check_context, check_value

    loaded = _load()
    if not name or not all(c.isalnum() or c in "._@-" for c in name):
        fail(f"context name {name!r}: use letters, digits and . _ @ -", EXIT_USAGE)
    changes: dict[str, Any] = {
        "namesrv": addresses,
        "address-server": address_server,
        "tls": True if tls else None,
        "tls-ca": str(tls_ca.expanduser().resolve()) if tls_ca else None,
        "tls-insecure": True if tls_insecure else None,
        "timeout": timeout,
        "retries": retries,
        "access-key": access_key,
        "access-key-env": access_key_env,
        "secret-key-env": secret_key_env,
        "secret-key-file": str(secret_key_file.expanduser().resolve()) if secret_key_file else None,
        "output": output.value if output is not None else None,
        "namespaces": list(dict.fromkeys(namespaces)) if namespaces else None,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    secret = None
    if from_tools_yml is not None:
        from nsctl.client.contexts import read_tools_yml

        if {"access-key", "access-key-env", "secret-key-env", "secret-key-file"} & set(changes):
            fail("--from-tools-yml gives the keys: leave out the other key options", EXIT_USAGE)
        changes["access-key"], secret = read_tools_yml(from_tools_yml)
        changes["secret-key-file"] = f"{SECRETS_DIR}/{name}.secret-key"
    for key in unset or []:
        if key not in CONTEXT_KEYS:
            fail(f"--unset {key}: not a context key ({', '.join(CONTEXT_KEYS)})", EXIT_USAGE)
        if key in changes:
            fail(f"--unset {key} and a value for it: give one", EXIT_USAGE)
    for key, value in changes.items():
        problem = check_value(key, value)
        if problem:
            fail(f"{key}: {problem}", EXIT_USAGE)
    existing = loaded.contexts.get(name)
    values = dict(existing.values) if existing is not None else {}
    before = dict(values)
    for key, value in changes.items():
        for other in _REPLACES.get(key, ()):
            values.pop(other, None)
        values[key] = value
    for key in unset or []:
        values.pop(key, None)
    problem = check_context(values)
    if problem:
        fail(problem, EXIT_USAGE)
    if secret is not None:
        _write_secret(loaded.path.parent / changes["secret-key-file"], secret)
    if existing is not None and values == before:
        emit_lines([f"no change: context {name}"])
        return
    loaded.contexts[name] = Context(name, values)
    loaded.save()
    emit_lines([f"context {name} {'updated' if existing is not None else 'created'}"])


def _write_secret(path: Path, secret: str) -> None:
    """The secret in a file only its owner may read (the directory too)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(secret + "\n")
    os.chmod(path, 0o600)


@plain_command(
    "view",
    group=config,
    help="Print the configuration file, secrets masked (TOML; JSON with -o json).",
)
def view(output: OutputOption = Output.plain) -> None:
    loaded = _load()
    document = loaded.to_toml()
    document["contexts"] = {n: _masked(v) for n, v in document["contexts"].items()}
    if output == Output.json:
        emit_json({"file": str(loaded.path), **document})
        return
    import tomli_w

    if not loaded.exists:
        emit_lines([f"# {loaded.path}: no such file"])
        return
    emit_lines([f"# {loaded.path}", *tomli_w.dumps(document).splitlines()])
