"""`python -m nsctl`: the nsctl command."""

from nsctl.cli.main import run

run()
