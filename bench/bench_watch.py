"""`lakehouse run --watch` measured: incremental runs in one warm application against one
`lakehouse run` process per period (a JVM start and its warm-up every time).

In a private lake and MariaDB at --scale (default 1): seed init and replicate; a watching
application (every layer, --interval 1) does the full run; then per activity period (--periods,
default 3) seed activity and replicate, and the watch runs on the new files. SIGTERM ends it.
Then, on the same lake, per period: seed activity, replicate and one `lakehouse run` (cold).

Layer times are in-application (`layer X done in Ys`). For a watch run, `run` is its own
timing (`watch: run N ... in Xs`, the run log write included) and `lag` the time from the
replicate's end to that line (the listing interval included); for a cold run, `run` is the wall
time of the whole process. `rss` is the process tree's resident memory after each run (does a
long-lived application grow?).

    .venv/bin/python bench/bench_watch.py [--scale 1] [--periods 3]

Prints a table and writes bench/results/<timestamp>-watch-scale<S>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.lakelab import Lab, Lines, layer_seconds, layers, tree_rss_mb  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
RUN_DONE = r"watch: run {n} \(.*\) (finished|failed) in ([0-9.]+)s"


def _entry(
    kind: str, layer_times: dict[str, float], run: float, rss: float, lag: float | None = None
) -> dict:
    entry = {"kind": kind, "layers": layer_times, "in_app": round(sum(layer_times.values()), 1),
             "run": round(run, 1), "rss_mb": round(rss)}  # fmt: skip
    if lag is not None:
        entry["lag"] = round(lag, 1)
    extra = f"  lag {lag:5.1f}s" if lag is not None else ""
    print(f"  {kind:<16} in-app {entry['in_app']:6.1f}s  run {run:6.1f}s  rss {rss:6.0f} MB{extra}  "
          f"{layer_times}", flush=True)  # fmt: skip
    return entry


def measure(scale: float, periods: int, workdir: Path) -> dict:
    lab = Lab(workdir / "lake")
    runs: list[dict] = []
    lab.up()
    try:
        lab.cli("seed", "init", "--scale", f"{scale:g}")
        lab.cli("replicate")
        proc = lab.start("run", "--watch", "--layers", ",".join(layers()), "--interval", "1")
        out = Lines(proc.stderr)
        try:
            start = 0
            for n in range(1, periods + 2):
                if n > 1:
                    lab.cli("seed", "activity")
                    lab.cli("replicate")
                replicated = time.monotonic()
                end = out.wait_for(RUN_DONE.format(n=n), timeout=3600)
                lag = time.monotonic() - replicated
                line = out.lines[end]
                if "failed" in line:
                    raise RuntimeError(f"watch run {n} failed:\n{out.text(start, end + 1)[-3000:]}")
                run_s = float(re.search(RUN_DONE.format(n=n), line).group(2))
                kind = "watch full" if n == 1 else f"watch inc {n - 1}"
                runs.append(_entry(kind, layer_seconds(out.text(start, end)), run_s, tree_rss_mb(proc.pid),
                                   None if n == 1 else lag))  # fmt: skip
                start = end + 1
        finally:
            proc.send_signal(signal.SIGTERM)
            if proc.wait(timeout=600) != 0:
                raise RuntimeError(f"the watch exited with {proc.returncode}:\n{out.text()[-3000:]}")
        for n in range(1, periods + 1):
            lab.cli("seed", "activity")
            lab.cli("replicate")
            step = lab.run()
            runs.append(_entry(f"cold inc {n}", step.layer_seconds(), step.seconds, step.peak_rss_mb))
        ok, detail = lab.reconcile()
        print(f"  reconcile: {detail}", flush=True)
    finally:
        lab.down()

    def mean(kind: str) -> float:
        values = [r["in_app"] for r in runs if r["kind"].startswith(kind)]
        return round(sum(values) / len(values), 1)

    full = runs[0]["in_app"]
    warm, cold = mean("watch inc"), mean("cold inc")
    return {
        "scale": scale,
        "periods": periods,
        "timestamp": dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ"),
        "cpus": os.cpu_count(),
        "layers": layers(),
        "runs": runs,
        "reconcile_ok": ok,
        "reconcile_detail": detail,
        "summary": {
            "full_in_app": full,
            "watch_incremental_in_app_mean": warm,
            "cold_incremental_in_app_mean": cold,
            "watch_incremental_over_full": round(warm / full, 3),
            "cold_incremental_over_full": round(cold / full, 3),
            "watch_over_cold": round(warm / cold, 3),
        },
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--periods", type=int, default=3, help="activity periods (default: 3)")
    args = p.parse_args(argv)
    if args.periods < 1:
        p.error("--periods must be 1 or more")
    print(f"bench_watch: scale {args.scale:g}, {args.periods} period(s)", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        result = measure(args.scale, args.periods, Path(tmp))
    s = result["summary"]
    print(f"  full {s['full_in_app']}s; incremental mean: watch {s['watch_incremental_in_app_mean']}s "
          f"({s['watch_incremental_over_full']:.0%} of full), cold {s['cold_incremental_in_app_mean']}s "
          f"({s['cold_incremental_over_full']:.0%}); watch/cold {s['watch_over_cold']:.2f}",
          flush=True)  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{result['timestamp']}-watch-scale{args.scale:g}.json"
    out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"  wrote {out}", flush=True)
    return 0 if result["reconcile_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
