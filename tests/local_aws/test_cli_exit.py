"""The `lakehouse` entry point exits with its command's code, its output flushed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from local_aws import cli

REPO = cli.__file__.rsplit("/local_aws/", 1)[0]


def test_run_flushes_output_and_exits_with_the_commands_code(monkeypatch, capsys):
    exits = []

    def command(argv=None):
        print("work done", end="")  # no newline: only a flush writes it out
        return 3

    monkeypatch.setattr(cli, "main", command)
    monkeypatch.setattr(cli.os, "_exit", exits.append)
    cli.run()
    assert exits == [3]
    assert capsys.readouterr().out == "work done"


@pytest.mark.parametrize(
    ("args", "code", "stream", "text"),
    [
        (["sql", "no_such_query"], 1, "stderr", "lakehouse sql: error"),
        (["--help"], 0, "stdout", "usage: lakehouse"),
    ],
)
def test_the_command_line_exits_with_the_commands_code(args, code, stream, text):
    proc = subprocess.run(
        [sys.executable, "-m", "local_aws.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == code, proc.stderr
    assert text in getattr(proc, stream)
