"""Fault injection: make the replicator deliver the way DMS can on a bad day, for tests.

- duplicate_every=N: every Nth CDC file is delivered twice, the copy under the next CDC name
  (DMS re-writes a batch after a retry).
- overlap_from=(file, pos): the first CDC run after a full load starts at this earlier binlog
  position and re-delivers changes the full load already holds.
- split_transactions: a transaction with several changes is cut across two files, with a
  checkpoint in between that does not cover it.
- crash_point: stop dead after a step's files are written and before its checkpoint is saved.
  Points: `full_load:after_files`, `cdc:after_files` (optionally `cdc:after_files:N` for the
  Nth CDC flush of the run). The CLI exits the process (os._exit); the Python API raises.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

CRASH_ENV = "LAKEHOUSE_REPLICATOR_CRASH_POINT"
CRASH_EXIT_CODE = 75
CRASH_POINTS = ("full_load:after_files", "cdc:after_files")


class SimulatedCrash(BaseException):  # noqa: N818 - BaseException so no `except Exception` swallows it
    """Raised at a crash point when the replicator runs in-process."""


@dataclass(frozen=True)
class Faults:
    duplicate_every: int = 0
    overlap_from: tuple[str, int] | None = None
    split_transactions: bool = False
    crash_point: str | None = None
    crash_exits: bool = False  # True: os._exit like a killed process; False: raise SimulatedCrash

    def __post_init__(self):
        if self.crash_point is not None:
            base, _, count = self.crash_point.rpartition(":") if self.crash_point.count(":") == 2 else (
                self.crash_point, "", "")  # fmt: skip
            if base not in CRASH_POINTS or (count and not count.isdigit()):
                raise ValueError(
                    f"crash point {self.crash_point!r}: expected one of {', '.join(CRASH_POINTS)} "
                    "(optionally with :N for the Nth time)"
                )
        if self.duplicate_every < 0:
            raise ValueError("duplicate_every must be >= 0")

    def crash_at(self, point: str, nth: int) -> None:
        """Crash if `point` (reached for the `nth` time in this run) is the configured crash point."""
        if self.crash_point is None:
            return
        if self.crash_point not in (point, f"{point}:{nth}"):
            return
        message = f"simulated crash at {point} (#{nth}): files written, checkpoint not saved"
        if self.crash_exits:
            print(message, file=sys.stderr, flush=True)
            os._exit(CRASH_EXIT_CODE)
        raise SimulatedCrash(message)

    def duplicate(self, file_index: int) -> bool:
        """Whether the `file_index`-th CDC file of this run (1-based) is delivered twice."""
        return self.duplicate_every > 0 and file_index % self.duplicate_every == 0


def parse_position(text: str) -> tuple[str, int]:
    """`mysql-bin.000001:1234` -> ("mysql-bin.000001", 1234)."""
    name, sep, pos = text.rpartition(":")
    if not sep or not name or not pos.isdigit():
        raise ValueError(f"binlog position {text!r}: expected FILE:POSITION, e.g. mysql-bin.000001:4")
    return name, int(pos)
