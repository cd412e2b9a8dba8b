"""The front: every ``loadgen`` subcommand.

The only code that prints, installs signal handlers or picks uvloop, and the one place that
turns outcomes into an ``ExitCode``. ``loadgen.cli:main`` is the console script.
"""

from loadgen.cli.commands import main
from loadgen.cli.outputs import ExitCode

__all__ = ["ExitCode", "main"]
