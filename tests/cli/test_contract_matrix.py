"""The CLI's contract under real shell use, as a matrix: every NameServer command x every
output format x each situation a shell or a CI script puts it in.

Each cell runs the real `nsctl` in a process of its own and asserts the exit code, what is on
stdout, and that stderr holds at most one line (and never a traceback or a complaint about a
closed pipe). A command is added with one row of COMMANDS; a situation with one entry of
SITUATIONS and a branch of `expected`.

The cells are independent processes, so they run in parallel: the module submits every
selected cell to a pool when the first one asks for its result, and each test waits for its
own. Cells that need a silent server get one of their own, so that the connections it counts
are that cell's attempts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cli.broker_setup import answering_broker
from tests.cli.situations import (
    ForkServer,
    Launcher,
    Outcome,
    dead_address,
    exec_nsctl,
    live_cluster,
    nsctl,
    nsctl_interrupted,
    nsctl_into_closed_pipe,
    silent_server,
)

FORMATS = ("table", "json", "plain")

#: Per-request timeout of the SIGINT cells: the process must end well before it.
SIGINT_REQUEST_TIMEOUT = 10.0
#: Per-request timeout of the retry-counting cells: short, the server never answers anyway.
SILENT_REQUEST_TIMEOUT = 0.3


@dataclass(frozen=True)
class Command:
    """One row: a command, its arguments, and what kind of command it is.

    kind: "read" (asks one NameServer, fails over), "fanout" (asks or changes every
    NameServer: a dead one makes it exit 3), "check", "watch".
    `shows` is what stdout must contain when it worked, per format (one string for all).
    `partial` is what stdout must contain with one NameServer dead, per format; None means
    stdout must stay empty (mqadmin's success text is not printed unless every NameServer
    succeeded).
    """

    name: str
    args: tuple[str, ...]
    kind: str
    shows: str | dict[str, str]
    partial: dict[str, str | None] | None = None
    request_timeout_flag: str = "--timeout"
    label: str = ""  # tells two rows of one command apart in the cell ids

    def marker(self, fmt: str) -> str:
        return self.shows if isinstance(self.shows, str) else self.shows[fmt]


OK_JSON = '"ok": true'
#: The desired-state file of plan and apply: cluster CS with nothing declared.
CS_FILE = str(Path(__file__).resolve().parents[1] / "data" / "declarative" / "cs-empty.toml")

COMMANDS = [
    Command("topicRoute", ("-t", "T00001"), "read", "broker-a"),
    Command("topicList", (), "read", "T00001"),
    # --each asks every NameServer: one dead is exit 3, the live one's answer still shown.
    Command(
        "topicRoute",
        ("-t", "T00001", "--each"),
        "fanout",
        {"table": "every NameServer agrees", "json": '"differences": []', "plain": "broker-a"},
        partial={"table": "broker-a", "json": '"ok": false', "plain": "broker-a"},
        label="-each",
    ),
    Command(
        "getKVList",
        ("-s", "ns", "--each"),
        "fanout",
        {"table": "every NameServer agrees", "json": '"differences": []', "plain": "v1"},
        partial={"table": "v1", "json": '"ok": false', "plain": "v1"},
        label="-each",
    ),
    Command("topicClusterList", ("-t", "T00001"), "read", "C1"),
    Command("clusterList", ("--no-stats",), "read", "broker-w"),
    # The brokers of cluster CS / topic TS answer broker queries (a stand-in, see `live`).
    Command("clusterList", ("-c", "CS"), "read", "V5_3_3", label="-stats"),
    Command("brokerStatus", ("-c", "CS"), "read", "brokerVersionDesc"),
    Command("topicStatus", ("-t", "TS"), "read", "2647"),
    Command("getKV", ("-s", "ns", "-k", "k"), "read", "v1"),
    Command("getKVList", ("-s", "ns"), "read", "v1"),
    Command("updateOrderConf", ("-t", "T00001", "-m", "get"), "read", "broker-a:4"),
    Command(
        "putKV",
        ("-s", "ns", "-k", "k2", "-v", "v2"),
        "fanout",
        {
            "table": "ns/k2 = v2",
            "json": OK_JSON,
            "plain": "create or update kv config to namespace success.",
        },
        partial={"table": "ns/k2 = v2", "json": OK_JSON, "plain": None},
    ),
    Command(
        "deleteKV",
        ("-s", "ns", "-k", "never-there"),
        "fanout",
        {
            "table": "deleted ns/never-there",
            "json": OK_JSON,
            "plain": "delete kv config from namespace success.",
        },
        partial={"table": "deleted ns/never-there", "json": OK_JSON, "plain": None},
    ),
    Command(
        "deleteTopic",
        ("-t", "NeverThere", "--namesrv-only"),
        "fanout",
        {
            "table": "deleted topic NeverThere",
            "json": OK_JSON,
            "plain": "delete topic [NeverThere] from NameServer success.",
        },
        partial={"table": "deleted topic NeverThere", "json": OK_JSON, "plain": None},
    ),
    Command(
        "updateOrderConf",
        ("-t", "T00002", "-m", "put", "-v", "broker-a:4"),
        "fanout",
        {"table": "update orderConf success", "json": OK_JSON, "plain": "update orderConf"},
        partial={"table": "update orderConf success", "json": OK_JSON, "plain": None},
    ),
    Command(
        "wipeWritePerm",
        ("-b", "broker-w"),
        "fanout",
        {
            "table": "wipe write perm of broker[broker-w]",
            "json": '"wipeTopicCount": 2',
            "plain": "wipe write perm of broker[broker-w]",
        },
        partial={
            "table": "wipe write perm of broker[broker-w]",
            "json": '"wipeTopicCount": 2',
            "plain": None,
        },
    ),
    Command(
        "addWritePerm",
        ("-b", "broker-w"),
        "fanout",
        {
            "table": "add write perm of broker[broker-w]",
            "json": '"addTopicCount": 2',
            "plain": "add write perm of broker[broker-w]",
        },
        partial={
            "table": "add write perm of broker[broker-w]",
            "json": '"addTopicCount": 2',
            "plain": None,
        },
    ),
    Command(
        "getNamesrvConfig",
        (),
        "fanout",
        "kvConfigPath",
        # Each answer is shown under its NameServer's address: the live one's still is.
        partial={fmt: "kvConfigPath" for fmt in FORMATS},
    ),
    Command(
        "updateNamesrvConfig",
        ("-k", "orderMessageEnable", "-v", "false"),
        "fanout",
        {
            "table": "orderMessageEnable = false",
            "json": OK_JSON,
            "plain": "update name server config success!",
        },
        partial={"table": "orderMessageEnable = false", "json": OK_JSON, "plain": None},
    ),
    Command(
        "registerBroker",
        ("-c", "C9", "-b", "broker-r", "-a", "127.0.0.1:20911", "--once"),
        "fanout",
        {"table": "registered broker-r", "json": '"masterAddr"', "plain": "registered broker-r"},
        # "registered broker-r ... on ADDRESS" names the NameServer it is true for.
        partial={"table": "registered broker-r", "json": '"masterAddr"', "plain": "registered"},
    ),
    Command(
        "unregisterBroker",
        ("-c", "C9", "-b", "ghost", "-a", "127.0.0.1:1"),
        "fanout",
        {"table": "unregistered ghost", "json": OK_JSON, "plain": "unregistered ghost"},
        partial={"table": "unregistered ghost", "json": OK_JSON, "plain": None},
    ),
    # Writes through the brokers of cluster CS (a stand-in that answers them). They read the
    # cluster table from one NameServer (failing over, as reads do); the deletes then write
    # to every NameServer. A second run finds the change made: the markers hold for both.
    Command(
        "updateTopic",
        ("-t", "TM", "-c", "CS", "-r", "2", "-w", "2"),
        "read",
        {"table": "broker-s", "json": OK_JSON, "plain": "create topic to"},
    ),
    Command(
        "updateTopicPerm",
        ("-t", "TS", "-c", "CS", "-p", "6"),
        "read",
        {"table": "set perm 6", "json": OK_JSON, "plain": "update topic perm from 6 to 6 in"},
    ),
    Command(
        "updateSubGroup",
        ("-g", "GM", "-c", "CS"),
        "read",
        {"table": "broker-s", "json": OK_JSON, "plain": "create subscription group to"},
    ),
    Command(
        "deleteTopic",
        ("-t", "TM2", "-c", "CS"),
        "fanout",
        {
            "table": "delete route of TM2",
            "json": OK_JSON,
            "plain": "delete topic [TM2] from cluster [CS] success.",
        },
        partial={"table": "delete route of TM2", "json": OK_JSON, "plain": None},
        label="-brokers",
    ),
    Command(
        "deleteSubGroup",
        ("-g", "GM2", "-c", "CS"),
        "fanout",
        {
            "table": "delete group",
            "json": OK_JSON,
            "plain": "delete subscription group [GM2] from broker",
        },
        partial={"table": "delete group", "json": OK_JSON, "plain": None},
    ),
    # KV across NameServers (kv sync and kv import need two NameServers or a file: tested
    # end to end in tests/cli/test_kv_repair.py).
    Command(
        "kv",
        ("diff", "-s", "ns"),
        "fanout",
        {
            "table": "no difference in ORDER_TOPIC_CONFIG, ns",
            "json": '"differences": []',
            "plain": "no difference in ORDER_TOPIC_CONFIG, ns",
        },
        partial={"table": "that answered", "json": '"unreachable"', "plain": "that answered"},
        label="-diff",
    ),
    Command("kv", ("export", "-s", "ns"), "read", '"k": "v1"', label="-export"),
    # Declarative: they read the cluster table from one NameServer (failing over) and the
    # masters of CS; with nothing declared and no --prune, nothing changes on any run.
    Command(
        "plan",
        ("-f", CS_FILE),
        "read",
        {"table": "no change", "json": '"changes": []', "plain": "no change"},
    ),
    Command(
        "apply",
        ("-f", CS_FILE),
        "read",
        {"table": "no change", "json": '"changes": []', "plain": "no change"},
    ),
    Command(
        "export",
        ("-c", "CS"),
        "read",
        {"table": "nsctl export of CS", "json": '"clusters"', "plain": "nsctl export of CS"},
    ),
    Command(
        "check",
        (),
        "check",
        {"table": "OK", "json": '"healthy": true', "plain": "OK"},
        partial={"table": "FAIL", "json": '"healthy": false', "plain": "FAIL"},
    ),
    Command(
        "watch",
        # One poll (the interval is longer than the run), then the deadline ends it.
        ("-t", "T00001", "--interval", "30", "--timeout", "4"),
        "watch",
        {"table": '"kind": "snapshot"', "json": '"kind": "snapshot"', "plain": " snapshot "},
        partial={"table": "namesrv_down", "json": "namesrv_down", "plain": "namesrv_down"},
        request_timeout_flag="--request-timeout",
    ),
]

SITUATIONS = ("ok", "reader_gone", "sigint", "one_dead", "silent_retries_0", "silent_retries_2")


@dataclass
class Expected:
    code: int
    contains: str | None = None  # stdout must contain it
    empty: bool = False  # stdout must be empty
    lacks: str | None = None  # stdout must not contain it
    stderr_lines: int = 1  # at most
    attempts: int | None = None  # connections the silent server must have seen


def expected(command: Command, situation: str, fmt: str) -> Expected:
    marker = command.marker(fmt)
    if situation == "ok":
        return Expected(0, contains=marker)
    if situation == "reader_gone":
        # Quietly: the command's own exit code, not a word about the pipe.
        return Expected(0)
    if situation == "sigint":
        # Ctrl-C is how watch ends (exit 0); anything else was interrupted (130).
        return Expected(0 if command.kind == "watch" else 130)
    if situation == "one_dead":
        if command.kind == "read":
            return Expected(0, contains=marker)  # failed over to the live one
        assert command.partial is not None
        code = {"fanout": 3, "check": 4, "watch": 0}[command.kind]
        wanted = command.partial[fmt]
        if wanted is None:
            return Expected(code, empty=True)
        return Expected(code, contains=wanted)
    retries = int(situation.rsplit("_", 1)[1])
    return Expected(3, lacks=marker, attempts=retries + 1)


@dataclass
class Cell:
    command: Command
    situation: str
    fmt: str
    id: str = field(init=False)

    def __post_init__(self) -> None:
        extra = "-put" if self.command.args[-2:] == ("-v", "broker-a:4") else ""
        self.id = f"{self.command.name}{extra}{self.command.label}-{self.fmt}-{self.situation}"

    def argv(self, namesrv: str, timeout: float, retries: int | None = None) -> list[str]:
        argv = [self.command.name, *self.command.args, "-o", self.fmt, "-n", namesrv]
        argv += [self.command.request_timeout_flag, str(timeout)]
        if retries is not None:
            argv += ["--retries", str(retries)]
        return argv


CELLS = [Cell(c, s, f) for c in COMMANDS for s in SITUATIONS for f in FORMATS]


def run_cell(cell: Cell, live: str, launch: Launcher) -> Outcome:
    if cell.situation == "ok":
        return nsctl(*cell.argv(live, 3.0), launch=launch)
    if cell.situation == "reader_gone":
        return nsctl_into_closed_pipe(*cell.argv(live, 3.0), launch=launch)
    if cell.situation == "one_dead":
        return nsctl(*cell.argv(f"{dead_address()};{live}", 3.0), launch=launch)
    with silent_server() as silent:
        if cell.situation == "sigint":
            argv = cell.argv(silent.address, SIGINT_REQUEST_TIMEOUT, 0)
            return nsctl_interrupted(silent, *argv, launch=launch)
        retries = int(cell.situation.rsplit("_", 1)[1])
        argv = cell.argv(silent.address, SILENT_REQUEST_TIMEOUT, retries)
        outcome = nsctl(*argv, launch=launch)
        outcome.connections = silent.connections
        return outcome


@pytest.fixture(scope="module")
def launch(tmp_path_factory) -> Iterator[Launcher]:
    """How cells start nsctl: forked from a warm interpreter (see tests/cli/forkserver.py),
    or, with NSCTL_MATRIX_EXEC=1, each in a fresh interpreter exactly as a shell does."""
    if os.environ.get("NSCTL_MATRIX_EXEC") == "1":
        yield exec_nsctl
        return
    server = ForkServer(tmp_path_factory.mktemp("forkserver"))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with (
        live_cluster(tmp_path_factory.mktemp("matrix") / "kv.json") as cluster,
        answering_broker(cluster.address, cluster="CS", broker_name="broker-s", topic="TS"),
    ):
        yield cluster.address


@pytest.fixture(scope="module")
def outcomes(request, live, launch):
    """Every selected cell, submitted to a pool at once; maps a cell id to its future."""
    selected = {
        item.callspec.params["cell"].id
        for item in request.session.items
        if hasattr(item, "callspec") and isinstance(item.callspec.params.get("cell"), Cell)
    }
    workers = int(os.environ.get("NSCTL_MATRIX_WORKERS", "8"))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures: dict[str, Future[Outcome]] = {
            cell.id: pool.submit(run_cell, cell, live, launch)
            for cell in CELLS
            if cell.id in selected
        }
        yield futures
        for future in futures.values():
            future.cancel()


@pytest.mark.parametrize("cell", CELLS, ids=lambda cell: cell.id)
def test_cell(cell: Cell, outcomes: dict[str, Future[Outcome]]) -> None:
    outcome = outcomes[cell.id].result(timeout=300)
    want = expected(cell.command, cell.situation, cell.fmt)
    report = (
        f"exit {outcome.returncode}\nstdout:\n{outcome.stdout[:2000]}\nstderr:\n{outcome.stderr}"
    )
    for noise in ("Traceback", "Exception ignored", "BrokenPipeError", "Broken pipe"):
        assert noise not in outcome.stderr, report
    assert outcome.returncode == want.code, report
    assert len(outcome.stderr_lines) <= want.stderr_lines, report
    if want.contains is not None:
        assert want.contains in outcome.stdout, report
    if want.empty:
        assert outcome.stdout == "", report
    if want.lacks is not None:
        assert want.lacks not in outcome.stdout, report
    if want.attempts is not None:
        assert outcome.connections == want.attempts, report
    if cell.situation == "sigint":
        assert outcome.after_signal is not None
        # A correctness bound, not a speed target: the request alone would take 10 s.
        assert outcome.after_signal < SIGINT_REQUEST_TIMEOUT / 2, report
        if want.code == 130:
            assert outcome.stderr == "nsctl: interrupted\n", report


#: Commands without a row, and why: they need two NameServers or a file, which a cell cannot
#: give; tests/cli/test_kv_repair.py runs them end to end.
ROWS_TO_COME: set[str] = {"kv sync", "kv import"}


def _row_name(command: Command) -> str:
    """A sub-command's row names its group and itself (`kv diff`)."""
    return f"{command.name} {command.args[0]}" if command.name == "kv" else command.name


def test_every_nameserver_command_has_a_row():
    """A new NameServer command (one taking -n) must join the matrix."""
    import inspect

    from nsctl.cli.main import load_app

    app = load_app()

    def takes_n(info) -> bool:
        return not info.hidden and "namesrv" in inspect.signature(info.callback).parameters

    commands = {info.name for info in app.registered_commands if takes_n(info)}
    for group in app.registered_groups:
        commands |= {
            f"{group.name} {info.name}"
            for info in group.typer_instance.registered_commands
            if takes_n(info)
        }
    assert commands - ROWS_TO_COME == {_row_name(c) for c in COMMANDS}
