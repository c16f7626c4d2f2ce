"""Benchmark of the seeding Lambda's core: `init` rows/s at a scale factor, and one activity period.

Starts a private MariaDB (temp folder, free port) with the local runtime's settings, then times
  1. `init` (schema, generation in Python, batched multi-row INSERTs in one transaction, manifest),
  2. `activity` period 1 (read the snapshot, plan, apply ~1% of the rows as changes, manifest).
Goal at scale 1 (~370,000 rows): init in 30 s or less on 2 cores.

    .venv/bin/python bench/bench_seed.py [--scale 1] [--seed 42]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import lambda_seed  # noqa: E402
from lambda_seed import generator  # noqa: E402
from local_aws.mariadb import LocalMariaDB, free_port  # noqa: E402

GOAL_SECONDS = 30.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-seed-") as tmp:
        server = LocalMariaDB(Path(tmp), port=free_port())
        info = server.up()
        try:
            started = time.perf_counter()
            data = generator.generate(args.scale, args.seed)
            gen_seconds = time.perf_counter() - started
            del data

            conn = info.connect()
            with conn:
                started = time.perf_counter()
                loaded = lambda_seed.init(conn, args.scale, args.seed)
                init_seconds = time.perf_counter() - started
                rows = sum(s["rows"] for s in loaded["tables"].values())

                started = time.perf_counter()
                changed = lambda_seed.activity(conn, 1)
                activity_seconds = time.perf_counter() - started
                changes = sum(sum(c.values()) for c in changed["changes"].values())
        finally:
            server.down()

    print(f"scale {args.scale:g}, seed {args.seed}: {rows:,} rows")
    for name, stats in loaded["tables"].items():
        print(f"  {name:<18}{stats['rows']:>10,}")
    print(f"generation alone        {gen_seconds:8.2f} s")
    verdict = "ok" if init_seconds <= GOAL_SECONDS * args.scale else "over"
    print(
        f"init                    {init_seconds:8.2f} s  {rows / init_seconds:>10,.0f} rows/s"
        f"  (goal {GOAL_SECONDS * args.scale:.1f} s: {verdict})"
    )
    print(
        f"activity period 1       {activity_seconds:8.2f} s  {changes:>10,} row changes"
        f" ({changes / rows:.2%} of the rows)"
    )
    # What the Lambda's memory setting must hold (the generator keeps the data set in memory).
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process {peak_mb:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
