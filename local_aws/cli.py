"""The `lakehouse` command: one front door to the local runtime.

Each sub-command lives in `local_aws/commands/<name>.py` and registers itself with `register`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from spark_jobs.config import ConfigError

# Sub-command modules, in the order `lakehouse --help` lists them.
COMMANDS = ("mysql", "seed", "replicate", "run", "runs", "sql", "reconcile", "demo", "package")


class CommandError(RuntimeError):
    """A sub-command failed in a way the user can fix; printed as one line, exit 1."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lakehouse", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"local_aws.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, CommandError) as exc:
        print(f"lakehouse {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except RuntimeError as exc:  # MariaDBError and friends carry a message meant for the user
        if type(exc).__module__.startswith(("local_aws", "spark_jobs", "lambda_seed")):
            print(f"lakehouse {args.command}: error: {exc}", file=sys.stderr)
            return 1
        raise


def run() -> None:
    """The `lakehouse` command: main(), then an exit with its code that skips native teardown.

    Arrow's native thread pools can abort the interpreter's teardown after a command has done all
    its work ("terminate called without an active exception", SIGABRT; apache/arrow#34314), which
    would turn a finished command's exit code into -6. Output and logs are flushed first; the
    Spark JVM a command started exits by itself when this process's end closes its stdin.
    """
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
