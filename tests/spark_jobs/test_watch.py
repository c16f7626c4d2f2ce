"""`--watch`: when a watching application runs, what it lists, how it stops, what it refuses."""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import threading

import pytest

from spark_jobs import watch
from spark_jobs.config import load_config
from spark_jobs.main import parse_args


class World:
    """Listings served one per poll; `changes` maps a run number to the listing that lands
    while that run is going on."""

    def __init__(self, listings: list[str], statuses: dict[int, int] | None = None, changes=None):
        self.listings = list(listings)
        self.statuses = statuses or {}
        self.changes = changes or {}
        self.polls = 0
        self.runs: list[tuple[int, int]] = []  # (run number, poll it followed)
        self.stop = threading.Event()

    def listing(self) -> str:
        self.polls += 1
        if self.polls >= len(self.listings):
            self.stop.set()  # the last listing is the last poll
        return self.listings[min(self.polls, len(self.listings)) - 1]

    def run(self, n: int) -> int:
        self.runs.append((n, self.polls))
        if n in self.changes:
            self.listings[self.polls :] = [self.changes[n]] * (len(self.listings) - self.polls)
        return self.statuses.get(n, 0)

    def watch(self, **kw) -> int:
        return watch.watch(self.run, self.listing, self.stop, interval=0.001, **kw)


def test_runs_first_then_when_the_listing_changed_and_settled():
    # "b" is new on poll 4 and settled on poll 5; "c" on 6 and 7.
    world = World(["a", "a", "a", "b", "b", "c", "d", "d", "d"])
    assert world.watch() == 0
    assert world.runs == [(1, 1), (2, 5), (3, 8)]


def test_input_landing_during_a_run_starts_the_next_one():
    # Run 1 starts on listing "a"; "b" lands while it runs: listed right after it, run once settled.
    world = World(["a"] * 6, changes={1: "b"})
    world.watch()
    assert world.runs == [(1, 1), (2, 3)]


def test_a_listing_that_keeps_changing_runs_after_max_unsettled_polls():
    world = World([str(i) for i in range(12)])
    world.watch(max_unsettled=4)
    assert world.runs == [(1, 1), (2, 5), (3, 9)]


def test_a_failed_run_waits_for_new_input_and_the_last_status_is_returned():
    world = World(["a", "a", "a", "b", "b"], statuses={1: 1})
    assert world.watch() == 0
    assert world.runs == [(1, 1), (2, 5)]
    world = World(["a", "b", "b", "b"], statuses={2: 1})
    assert world.watch() == 1
    assert world.runs == [(1, 1), (2, 3)]


def test_max_runs_stops_the_watch():
    world = World(["a", "b", "b", "c", "c", "d", "d"])
    world.watch(max_runs=3)
    assert world.runs == [(1, 1), (2, 3), (3, 5)]
    assert world.polls == 5


def test_a_stop_during_a_run_ends_the_watch_after_it():
    world = World([str(i) for i in range(10)])
    stop_in_run = world.run

    def run(n: int) -> int:
        world.stop.set()
        return stop_in_run(n)

    assert watch.watch(run, world.listing, world.stop, interval=0.001) == 0
    assert world.runs == [(1, 1)]


def test_a_listing_that_fails_is_retried_and_the_watch_goes_on(caplog):
    world = World(["a", "a", "b", "b", "b"])
    real = world.listing
    failures = iter([False, True, False, True, False, False, False])

    def listing() -> str:
        if next(failures):
            raise OSError("raw/salesdb/sales: No such file or directory")
        return real()

    assert watch.watch(world.run, listing, world.stop, interval=0.001) == 0
    assert world.runs == [(1, 1), (2, 4)]
    assert "could not list the input (raw/salesdb/sales: No such file or directory)" in caplog.text


def test_a_run_log_that_cannot_be_written_fails_the_run_but_not_the_watch(
    spark, lake_root, monkeypatch, caplog
):
    from spark_jobs import main, run_log

    caplog.set_level("INFO", logger="spark_jobs")
    cfg = load_config("local")
    monkeypatch.setattr(
        main, "run_layers", lambda *a: [run_log.RunRecord("r1", "bronze", "sales").finish("noop")]
    )

    def refuse(*_):
        raise RuntimeError("DELTA_CONCURRENT_APPEND: the run log changed meanwhile")

    monkeypatch.setattr(run_log, "write", refuse)
    assert main.run_once(spark, cfg, ["bronze"], ["sales"], set(), "r1") == 1
    assert "run r1: could not write the run log at " in caplog.text
    assert "_ops/pipeline_runs: DELTA_CONCURRENT_APPEND: the run log changed meanwhile" in caplog.text
    assert "bronze  sales" in caplog.text  # the outcome is still reported
    # In a watch that is a failed run: the watch goes on to the next input.
    world = World(["a", "b", "b"])
    statuses = []

    def one(n: int) -> int:
        world.run(n)
        statuses.append(main.run_once(spark, cfg, ["bronze"], ["sales"], set(), f"r{n}"))
        return statuses[-1]

    assert watch.watch(one, world.listing, world.stop, interval=0.001) == 1
    assert statuses == [1, 1]


@pytest.mark.parametrize(
    ("kw", "message"), [({"interval": 0}, "--interval"), ({"max_runs": 0}, "--max-runs")]
)
def test_bad_settings_are_refused(kw, message):
    world = World(["a"])
    with pytest.raises(watch.WatchError, match=message):
        watch.watch(world.run, world.listing, world.stop, **{"interval": 1, **kw})
    assert world.runs == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--watch", "--interval", "0"], "--interval must be more than 0 seconds"),
        (["--watch", "--max-runs", "0"], "--max-runs must be 1 or more"),
        (["--max-runs", "2"], "apply to --watch only"),
        (["--interval", "2"], "apply to --watch only"),
    ],
)
def test_bad_arguments_exit_with_the_reason(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        parse_args(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_arguments_forward_unchanged():
    p = argparse.ArgumentParser()
    watch.add_arguments(p)
    for argv in ([], ["--watch"], ["--watch", "--interval", "0.5", "--max-runs", "3"]):
        args = p.parse_args(argv)
        assert vars(p.parse_args(watch.forward(args))) == vars(args)
    assert parse_args(["--watch", "--interval", "0.5", "--max-runs", "3"]).max_runs == 3


def test_a_lake_on_s3_is_refused(lake_root):
    cfg = load_config("local")
    env = dataclasses.replace(cfg.env, name="aws", paths={**cfg.env.paths, "raw": "s3://bucket/raw"})
    with pytest.raises(watch.WatchError, match=r"raw zone is s3://bucket/raw \(env aws\).*Airflow DAG"):
        watch.check_local(dataclasses.replace(cfg, env=env))
    watch.check_local(cfg)  # a local lake is fine


def test_first_signal_asks_to_stop_second_interrupts_and_handlers_come_back():
    before = signal.getsignal(signal.SIGTERM)
    with watch.stop_on_signals() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(5)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            stop.wait(5)  # the handler raises here, in the main thread
    assert signal.getsignal(signal.SIGTERM) is before


def test_listing_sees_new_raw_files_and_bronze_commits_only(spark, lake_root):
    cfg = load_config("local")
    tables = ["clients", "products"]

    def listing(layer: str) -> tuple:
        return watch.fingerprint(spark, cfg, layer, tables)

    empty = listing("bronze")
    assert all(names == () for _, names in empty)
    raw = cfg.raw_table_dir("clients")
    os.makedirs(raw)
    suffix = cfg.raw.file_suffix
    with open(f"{raw}/.LOAD00000001{suffix}.tmp", "wb"):
        pass  # a file the replicator is still writing
    with open(f"{raw}/notes.txt", "wb"):
        pass
    assert listing("bronze") == empty
    with open(f"{raw}/LOAD00000001{suffix}", "wb"):
        pass
    after = listing("bronze")
    assert dict(after)[raw] == (f"LOAD00000001{suffix}",)

    # Silver's input: the bronze tables' commits.
    silver_before = listing("silver")
    spark.range(1).write.format("delta").save(cfg.env.table_path("bronze", "products"))
    silver_after = listing("silver")
    assert silver_after != silver_before
    log = f"{cfg.env.table_path('bronze', 'products')}/_delta_log"
    assert dict(silver_after)[log] == ("00000000000000000000.json",)
    assert listing("bronze") == after  # bronze's own writes are not bronze's input

    # Gold's input: the commits of the silver tables gold reads, whatever --tables says.
    gold_before = listing("gold")
    spark.range(1).write.format("delta").save(cfg.env.table_path("silver", "clients"))
    assert listing("gold") == gold_before  # gold reads clients_history, not clients
    spark.range(1).write.format("delta").save(cfg.env.table_path("silver", "sales"))
    log = f"{cfg.env.table_path('silver', 'sales')}/_delta_log"
    assert dict(listing("gold"))[log] == ("00000000000000000000.json",)
    assert listing("silver") == silver_after
