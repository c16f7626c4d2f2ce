"""The benchmarks' reporting (`make bench` prints a table and draws a plot from bench/results):
run on the results committed in the repository, beside results of the other benchmarks."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from bench import run_all
from bench.lakelab import layer_seconds

RESULTS = Path(run_all.__file__).resolve().parent / "results"


def _scale_results() -> list[dict]:
    found = [json.loads(f.read_text()) for f in sorted(RESULTS.glob("*-scale*.json"))]
    return [r for r in found if "steps" in r]


def test_the_repository_holds_results_of_the_whole_pipeline_and_of_the_watch():
    names = [f.name for f in RESULTS.glob("*-scale*.json")]
    assert any("-watch-" in n for n in names), names
    assert _scale_results(), names


def test_the_newest_result_of_each_scale_is_chosen(tmp_path):
    for f in RESULTS.glob("*-scale*.json"):  # the --watch results too: they have no steps
        shutil.copy(f, tmp_path / f.name)
    committed = run_all.newest_results(tmp_path)
    assert committed and all("steps" in r for r in committed.values())
    results = _scale_results()
    first, last = results[0], results[-1]
    older = {**first, "scale": 1.0, "timestamp": "old"}
    newer = {**last, "scale": 7.0, "timestamp": "new"}
    (tmp_path / "19990101T000000Z-scale1.json").write_text(json.dumps(older))
    (tmp_path / "29990101T000000Z-scale7.json").write_text(json.dumps(newer))
    newest = run_all.newest_results(tmp_path)
    assert newest[7.0]["timestamp"] == "new"
    assert newest[1.0]["timestamp"] != "old"
    assert {s: r["timestamp"] for s, r in newest.items() if s != 7.0} == {
        s: r["timestamp"] for s, r in committed.items()
    }


def test_the_plot_is_drawn_beside_the_results(tmp_path):
    for f in RESULTS.glob("*-scale*.json"):
        shutil.copy(f, tmp_path / f.name)
    png = run_all.plot(tmp_path)
    assert png == tmp_path / "time_vs_scale.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000


def test_no_plot_without_a_pipeline_result(tmp_path):
    for f in RESULTS.glob("*-watch-*.json"):
        shutil.copy(f, tmp_path / f.name)
    assert run_all.plot(tmp_path) is None
    assert not (tmp_path / "time_vs_scale.png").exists()


def test_the_table_names_every_step_and_scale(capsys):
    newest = {r["scale"]: r for r in _scale_results()}
    results = [newest[s] for s in sorted(newest)]
    run_all.print_table(results)
    out = capsys.readouterr().out
    for step in ("seed_init", "replicate_full", "run_full", "run_incremental", "naive_rebuild"):
        line = next(x for x in out.splitlines() if x.startswith(step))
        assert len(line.split()) >= 1 + len(results), line  # one cell per scale
    for r in results:
        assert f"scale {r['scale']:g}" in out
    assert "incremental_over_full" in out


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "x INFO spark_jobs: layer bronze done in 12.5s\ny layer gold done in 3s",
            {"bronze": 12.5, "gold": 3.0},
        ),
        ("no layer line here", {}),
    ],
)
def test_layer_seconds_reads_the_applications_log(text, expected):
    assert layer_seconds(text) == expected


def test_a_timed_step_reports_the_jvm_cpu_and_jit_compiler_seconds_it_cost(spark, capsys):
    from bench.bench_silver import jvm_seconds, timed

    cpu, jit = jvm_seconds(spark)
    assert cpu > jit > 0  # the session started: the JVM has run and compiled
    seconds, rows = timed("a small query", lambda: spark.range(1000).selectExpr("sum(id)").first()[0], spark)
    assert rows == 499500 and seconds > 0
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(r"a small query +[\d.]+ s, [1-9]\d* Spark jobs, JVM CPU .*", line), line
    spent, compiled = (float(part.split()[0]) for part in line.split("JVM CPU ")[1].split("(JIT compilers "))
    assert spent >= 0 and compiled >= 0
    later_cpu, later_jit = jvm_seconds(spark)
    assert later_cpu >= cpu and later_jit >= jit
