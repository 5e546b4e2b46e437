"""What an installed nsctl carries of its own documentation: `nsctl completion bash|zsh|fish`
prints the shell completion script and `nsctl man` the man page, both made from the commands
themselves (the files in a checkout's completions/ and man/ are the same text, kept current by
a test), so a wheel install needs no checkout."""

from __future__ import annotations

import enum
import shutil
import subprocess
import sys
from typing import Annotated

import typer

from nsctl.cli.options import plain_command


class Shell(str, enum.Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


@plain_command(
    "completion",
    help="Print the completion script for bash, zsh or fish, e.g. "
    "'nsctl completion bash > /etc/bash_completion.d/nsctl' or "
    "'source <(nsctl completion bash)'.",
)
def completion(
    shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.", case_sensitive=False)],
) -> None:
    from nsctl.cli import gendocs
    from nsctl.cli.render import write

    global_options, commands = gendocs.collect()
    make = {Shell.bash: gendocs.bash, Shell.zsh: gendocs.zsh, Shell.fish: gendocs.fish}[shell]
    write(make(global_options, commands))


@plain_command(
    "man",
    help="Show the man page (through man(1) on a terminal; the roff source when piped, e.g. "
    "'nsctl man > /usr/local/share/man/man1/nsctl.1').",
)
def man_page() -> None:
    from nsctl.cli import gendocs
    from nsctl.cli.render import write

    page = gendocs.man(*gendocs.collect())
    viewer = shutil.which("man")
    if sys.stdout.isatty() and viewer is not None:
        subprocess.run([viewer, "-l", "-"], input=page, text=True, check=False)
        return
    write(page)
