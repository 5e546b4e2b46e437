"""The blocking path's logger: silent and import-free until `logging` is imported, then the
real logger, with records that name the code that logged them."""

from __future__ import annotations

import logging
import subprocess
import sys

from nsctl.client.quiet_log import QuietLogger


def test_records_reach_the_real_logger_and_name_their_caller(caplog):
    caplog.set_level(logging.DEBUG, logger="nsctl.client.test")
    log = QuietLogger("nsctl.client.test")
    log.debug("connected to %s", "127.0.0.1:9876")
    log.info("NameServer %s failed", "a", stacklevel=1)
    first, second = caplog.records
    assert (first.levelno, first.getMessage()) == (logging.DEBUG, "connected to 127.0.0.1:9876")
    assert (second.levelno, second.getMessage()) == (logging.INFO, "NameServer a failed")
    assert {r.funcName for r in caplog.records} == {
        "test_records_reach_the_real_logger_and_name_their_caller"
    }
    assert first.pathname == __file__


def test_levels_are_respected(caplog):
    caplog.set_level(logging.INFO, logger="nsctl.client.test")
    QuietLogger("nsctl.client.test").debug("hidden")
    assert not caplog.records


def test_a_route_query_imports_no_logging():
    probe = (
        "import sys\n"
        "sys.argv = ['nsctl', 'topicRoute', '-t', 'T', '-n', '127.0.0.1:1', '-o', 'json',"
        " '--retries', '0', '--timeout', '0.2']\n"
        "from nsctl.cli.main import load_app\n"
        "try:\n    load_app(sys.argv[1:])(sys.argv[1:], prog_name='nsctl')\n"
        "except SystemExit:\n    pass\n"
        "print('logging' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "False", done.stderr
