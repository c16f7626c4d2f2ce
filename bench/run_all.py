"""The whole pipeline measured at one or more scales: `make bench` (SCALES="0.1 1 10").

Per scale, in a private lake and a private MariaDB, each step a `lakehouse` process:
  seed init; replicate (full load); one Spark application running every layer (full); the floor
  (pyarrow reads every raw Parquet file and writes it once); seed activity (one period, ~1% of the
  rows); replicate (CDC); one application running every layer (incremental); and the naive
  baseline on the same change: a fresh lake holding the same raw files, every layer rebuilt from
  scratch (what a pipeline without incremental bookkeeping does).
Layer times are measured inside the application (spark_jobs.main logs `layer X done in Ys`), so
they exclude the JVM start; `app` is the wall time of the whole process. Peak memory is the
largest resident set of the process tree (the CLI, the Spark driver JVM, Python workers).

Prints a table, writes bench/results/<timestamp>-scale<S>.json and latest.json, and draws
bench/results/time_vs_scale.png from the newest result of each scale.

    .venv/bin/python bench/run_all.py --scales 0.1 1 [--driver-memory 8g] [--keep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.lakelab import Lab, has_gold, has_reconcile, layer_rows, layers  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
MEMORY_LIMIT_MB = 24 * 1024


def floor_seconds(raw: Path, out: Path) -> tuple[float, int]:
    """pyarrow: read every raw Parquet file and write it once (no Spark, no Delta)."""
    import pyarrow.parquet as pq

    started = time.perf_counter()
    rows = 0
    for f in sorted(raw.rglob("*.parquet")):
        data = pq.read_table(f)
        rows += data.num_rows
        target = out / f.relative_to(raw)
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(data, target)
    return time.perf_counter() - started, rows


def measure(scale: float, workdir: Path, driver_memory: str | None) -> dict:
    lab = Lab(workdir / "lake", driver_memory=driver_memory)
    steps: dict[str, dict] = {}

    def record(name: str, step, rows: int | None = None) -> None:
        entry = {"seconds": round(step.seconds, 2), "peak_rss_mb": round(step.peak_rss_mb, 1)}
        layer_times = step.layer_seconds()
        if layer_times:
            entry["layers"] = layer_times
        if rows:
            entry["rows"] = rows
            entry["rows_per_second"] = round(rows / max(step.seconds, 1e-9), 1)
        steps[name] = entry
        print(f"  {name:<22}{step.seconds:>9.1f}s  peak {step.peak_rss_mb:>7.0f} MB  {layer_times or ''}",
              flush=True)  # fmt: skip

    lab.up()
    try:
        seed = lab.cli("seed", "init", "--scale", f"{scale:g}", "--json")
        seeded = sum(t["rows"] for t in json.loads(seed.stdout)["tables"].values())
        record("seed_init", seed, seeded)
        load = lab.cli("replicate")
        full_raw = layer_rows(lab)["raw"]
        record("replicate_full", load, full_raw)
        full = lab.run()
        record("run_full", full, full_raw)
        rows_full = layer_rows(lab)
        raw_dir = Path(lab.config().env.paths["raw"])
        fl_seconds, fl_rows = floor_seconds(raw_dir, workdir / "floor")
        steps["floor_pyarrow"] = {"seconds": round(fl_seconds, 2), "rows": fl_rows,
                                  "rows_per_second": round(fl_rows / max(fl_seconds, 1e-9), 1)}  # fmt: skip
        print(f"  {'floor_pyarrow':<22}{fl_seconds:>9.1f}s", flush=True)

        activity = lab.cli("seed", "activity", "--json")
        changes = json.loads(activity.stdout).get("changes") or {}
        changed = sum(sum(c.values()) for c in changes.values())
        record("seed_activity", activity, changed)
        before = layer_rows(lab)["raw"]
        cdc = lab.cli("replicate")
        cdc_rows = layer_rows(lab)["raw"] - before
        record("replicate_cdc", cdc, cdc_rows)
        record("run_incremental", lab.run(), cdc_rows)
        ok, detail = lab.reconcile()
        print(f"  reconcile: {detail}", flush=True)

        naive = Lab(workdir / "naive", driver_memory=driver_memory)
        shutil.copytree(raw_dir, Path(naive.config().env.paths["raw"]))
        record("naive_rebuild", naive.run(), layer_rows(naive)["raw"])
        rows_after = layer_rows(lab)
    finally:
        lab.down()

    def in_app(name: str) -> float:
        return round(sum(steps[name].get("layers", {}).values()), 2)

    full_s, inc_s, naive_s = in_app("run_full"), in_app("run_incremental"), in_app("naive_rebuild")
    end_to_end = sum(steps[n]["seconds"] for n in ("seed_init", "replicate_full", "run_full"))
    peak = max(s.get("peak_rss_mb", 0) for s in steps.values())
    return {
        "scale": scale,
        "timestamp": dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ"),
        "layers": layers(),
        "gold": has_gold(),
        "reconcile": "lakehouse reconcile" if has_reconcile() else "silver vs MySQL (bench/lakelab.py)",
        "reconcile_ok": ok,
        "reconcile_detail": detail,
        "cpus": os.cpu_count(),
        "driver_memory": driver_memory or os.environ.get("LAKEHOUSE_DRIVER_MEMORY", "4g"),
        "steps": steps,
        "rows_after_full": rows_full,
        "rows_after_incremental": rows_after,
        "summary": {
            "end_to_end_seconds": round(end_to_end, 1),
            "full_layers_seconds": full_s,
            "incremental_layers_seconds": inc_s,
            "naive_layers_seconds": naive_s,
            "incremental_over_full": round(inc_s / full_s, 3) if full_s else None,
            "naive_over_incremental": round(naive_s / inc_s, 2) if inc_s else None,
            "peak_rss_mb": peak,
            "within_24gb": peak <= MEMORY_LIMIT_MB,
        },
    }


def print_table(results: list[dict]) -> None:
    names = ["seed_init", "replicate_full", "run_full", "floor_pyarrow", "seed_activity", "replicate_cdc",
             "run_incremental", "naive_rebuild"]  # fmt: skip
    print("\nseconds (wall time of each step; [in-app layer times])")
    print(f"{'step':<18}" + "".join(f"{'scale ' + format(r['scale'], 'g'):>30}" for r in results))
    for n in names:
        cells = []
        for r in results:
            s = r["steps"].get(n, {})
            lay = "/".join(f"{v:.0f}" for v in s.get("layers", {}).values())
            cells.append(f"{s.get('seconds', float('nan')):>10.1f}" + (f" [{lay}]" if lay else "").rjust(20))
        print(f"{n:<18}" + "".join(cells))
    print("\nsummary")
    for key in results[0]["summary"]:
        print(f"{key:<28}" + "".join(f"{str(r['summary'][key]):>14}" for r in results))


def newest_results(results_dir: Path) -> dict[float, dict]:
    """Scale -> the newest result of this benchmark in `results_dir` (file names start with a UTC
    timestamp); the --watch benchmark's results (bench_watch.py), which have no steps, are left out."""
    newest: dict[float, dict] = {}
    for f in sorted(results_dir.glob("*-scale*.json")):
        data = json.loads(f.read_text())
        if "steps" in data:
            newest[data["scale"]] = data
    return newest


def plot(results_dir: Path) -> Path | None:
    """Time of each step against scale (log-log), from the newest result of every scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    newest = newest_results(results_dir)
    if not newest:
        return None
    scales = sorted(newest)
    fig, ax = plt.subplots(figsize=(8, 5))
    for name in (
        "seed_init",
        "replicate_full",
        "run_full",
        "run_incremental",
        "naive_rebuild",
        "floor_pyarrow",
    ):
        ys = [newest[s]["steps"].get(name, {}).get("seconds") for s in scales]
        points = [(s, y) for s, y in zip(scales, ys, strict=True) if y]
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("scale factor (1 = 100,000 sales)")
    ax.set_ylabel("seconds")
    ax.set_title("Lakehouse steps: time against scale")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    out = results_dir / "time_vs_scale.png"
    fig.savefig(out, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scales", nargs="+", type=float, default=[0.1, 1, 10])
    p.add_argument(
        "--driver-memory",
        default=os.environ.get("LAKEHOUSE_DRIVER_MEMORY"),
        help="Spark driver memory (default: LAKEHOUSE_DRIVER_MEMORY; 4g, 12g at scale 10)",
    )
    p.add_argument("--keep", action="store_true", help="keep the work folders")
    args = p.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = []
    for scale in args.scales:
        memory = args.driver_memory or ("12g" if scale >= 10 else None)
        print(f"== scale {scale:g} (layers {','.join(layers())}, driver memory {memory or '4g'})", flush=True)
        work = Path(tempfile.mkdtemp(prefix=f"bench-scale{scale:g}-"))
        try:
            result = measure(scale, work, memory)
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        out = RESULTS / f"{result['timestamp']}-scale{scale:g}.json"
        text = json.dumps(result, indent=2, sort_keys=True)
        out.write_text(text + "\n")
        (RESULTS / "latest.json").write_text(text + "\n")
        print(f"  wrote {out}", flush=True)
        results.append(result)
    print_table(results)
    png = plot(RESULTS)
    if png:
        print(f"\nplot: {png}")
    return 0 if all(r["reconcile_ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
