"""A reduced fault-trial run (bench/chaos.py) inside the test suite: tiny scale, two tables.

One SIGKILL during bronze, duplicated and late re-delivered raw files, and a malformed raw file,
each followed by a rerun; every trial must end with silver equal to MySQL and no delivered row
in bronze twice. `make chaos` runs the full set (20+ trials, every table and layer).
"""

from __future__ import annotations

import pytest

from bench.chaos import run_trials
from bench.lakelab import Lab


@pytest.mark.slow
def test_reduced_fault_trials_converge(tmp_path):
    lab = Lab(tmp_path / "lake")
    try:
        results = run_trials(
            lab, 3, scale=0.01, seed=3, tables=["clients", "products"],
            kinds=["kill:bronze", "duplicate", "malformed"],
        )  # fmt: skip
    finally:
        lab.down()
    table = "\n".join(f"{t.kind}: {t.fault} -> {t.outcome}; {t.detail}" for t in results)
    assert [t.kind for t in results] == ["kill:bronze", "duplicate", "malformed"]
    assert all(t.ok for t in results), table
    assert results[0].outcome in ("killed", "finished before the fault"), table
    assert "quarantined=True" in results[2].outcome and "reported=True" in results[2].outcome, table
