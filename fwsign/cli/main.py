"""The ``fwsign`` command line: parse arguments, call the library, print, exit.

Exit codes: 0 success, 1 verification rejected, 2 usage error or unreadable input,
3 nothing to do (``fwsign update``: already up to date).

The parser is the standard library's argparse: a release pipeline or a gateway runs
``fwsign`` thousands of times, and start-up is most of a run on small images. Command
modules import nothing heavy at import time; the library modules each command needs are
imported inside its handler.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from .common import EXIT_USAGE, CliExit, echo

#: Modules that contribute commands; each has ``register(subparsers)``.
COMMAND_MODULES: tuple[str, ...] = (
    "fwsign.cli.sign",
    "fwsign.cli.verify",
    "fwsign.cli.keys",
    "fwsign.cli.device",
    "fwsign.cli.repo",
    "fwsign.cli.energy",
    "fwsign.cli.log",
    "fwsign.cli.delegate",
    "fwsign.cli.rollout",
    "fwsign.cli.report",
)

#: Which module registers each top-level command. A run builds the parser of its own
#: command's module only (building every option of every command costs more than the
#: verification itself); ``fwsign --help`` and unknown commands build them all. A test
#: checks this table against what the modules register.
COMMANDS: dict[str, str] = {
    "sign": "fwsign.cli.sign", "sign-envelope": "fwsign.cli.sign", "tbs": "fwsign.cli.sign",
    "attach": "fwsign.cli.sign", "sever": "fwsign.cli.sign",
    "verify": "fwsign.cli.verify", "inspect": "fwsign.cli.verify",
    "keygen": "fwsign.cli.keys", "key": "fwsign.cli.keys",
    "device": "fwsign.cli.device",
    "repo": "fwsign.cli.repo", "update": "fwsign.cli.repo",
    "energy": "fwsign.cli.energy",
    "log": "fwsign.cli.log", "audit": "fwsign.cli.log",
    "delegate": "fwsign.cli.delegate",
    "rollout": "fwsign.cli.rollout",
    "report": "fwsign.cli.report",
}


class Parser(argparse.ArgumentParser):
    """argparse with fwsign's one-line usage errors and exit code 2."""

    def error(self, message: str) -> NoReturn:
        echo(f"fwsign: usage: {message} (see '{self.prog} --help')", err=True)
        raise CliExit(EXIT_USAGE)


def build_parser(argv: Sequence[str] | None = None) -> Parser:
    """The parser for ``argv``: only its command's module, or every module when unclear."""
    command = next((a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")), None)
    modules = (COMMANDS[command],) if command in COMMANDS else COMMAND_MODULES
    parser = Parser(
        prog="fwsign",
        description="Sign, inspect and verify IETF SUIT firmware manifests (CBOR/COSE).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"fwsign {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code (errors become one-line messages)."""
    from ..errors import FwsignError

    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        handler = getattr(args, "handler", None)
        if handler is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        code = handler(args)
        return 0 if code is None else int(code)
    except CliExit as exc:
        return exc.code
    except FwsignError as exc:
        echo(f"fwsign: {exc.describe()}", err=True)
        return exc.exit_code
    except OSError as exc:
        echo(f"fwsign: usage: {exc.filename or ''}: {exc.strerror or exc}", err=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        echo("fwsign: interrupted", err=True)
        return 130
    except Exception as exc:  # a bug must still end in one line and a failing exit
        echo(f"fwsign: internal error ({type(exc).__name__}: {exc}); nothing was accepted. Please report this as a bug.",
             err=True)
        return 1


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
