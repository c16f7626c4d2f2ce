"""The dependency waves gold writes its models in (pure Python, no Spark session)."""

from __future__ import annotations

import threading

import pytest

from spark_jobs.config import GoldModel, gold_models, load_config
from spark_jobs.jobs.gold import _write_in_order, waves


def _model(name: str, *deps: str) -> GoldModel:
    return GoldModel(name=name, grain="g", unique_key=("k",), depends_on=deps, scope=())


def test_every_model_comes_after_the_gold_models_it_depends_on():
    models = gold_models(load_config("local"))
    order = waves(models)
    assert sorted(n for wave in order for n in wave) == sorted(models), "each model exactly once"
    wave_of = {n: i for i, wave in enumerate(order) for n in wave}
    for name, model in models.items():
        for dep in model.depends_on:
            if dep in models:
                assert wave_of[dep] < wave_of[name], f"{name} is written before {dep}"
    assert set(order[0]) == {"dim_date", "dim_sales_person", "dim_product", "dim_client"}
    assert set(order[1]) == {"fact_sales_item", "fact_sales"}, "fact_sales reads silver's items"
    assert wave_of["agg_daily_sales"] > wave_of["fact_sales"]
    assert wave_of["agg_product_month"] > wave_of["fact_sales_item"]


def test_independent_models_share_a_wave_and_silver_inputs_do_not_count():
    listed = (_model("a", "silver_x"), _model("b"), _model("c", "a", "b"), _model("d", "a"))
    models = {m.name: m for m in listed}
    assert waves(models) == [["a", "b"], ["c", "d"]]


def test_a_dependency_cycle_is_refused_with_the_models_named():
    models = {m.name: m for m in (_model("a", "b"), _model("b", "a"))}
    with pytest.raises(ValueError, match="cycle"):
        waves(models)


def test_each_model_is_checked_in_its_own_worker_before_the_next_wave_starts():
    cfg = load_config("local")
    listed = (_model("a"), _model("b"), _model("c", "a", "b"))
    models = {m.name: m for m in listed}
    events: list[tuple[str, str]] = []
    threads: dict[str, set[int]] = {}
    lock = threading.Lock()

    def note(kind: str, name: str) -> None:
        with lock:
            events.append((kind, name))
            threads.setdefault(name, set()).add(threading.get_ident())

    tasks = {n: (lambda n=n: note("write", n)) for n in models}
    _write_in_order(cfg, models, tasks, lambda n: note("check", n))
    assert events.index(("write", "a")) < events.index(("check", "a")) < events.index(("write", "c"))
    assert events.index(("check", "b")) < events.index(("write", "c"))
    assert events[-1] == ("check", "c")
    assert all(len(ids) == 1 for ids in threads.values()), "a model's check runs where it was written"


def test_a_model_starts_when_its_dependencies_are_done_not_when_unrelated_models_are():
    cfg = load_config("local")
    listed = (_model("slow"), _model("b"), _model("c", "b"))
    models = {m.name: m for m in listed}
    c_started = threading.Event()
    seen: dict[str, bool] = {}

    def slow() -> None:
        # Under a wave barrier c could only start after this returns, so the wait would time out.
        seen["slow saw c"] = c_started.wait(timeout=30)

    tasks = {"slow": slow, "b": lambda: None, "c": c_started.set}
    _write_in_order(cfg, models, tasks)
    assert seen == {"slow saw c": True}


def test_models_run_one_after_another_in_dependency_order_with_one_worker():
    cfg = load_config("local")
    cfg.env.settings.setdefault("spark", {})["table_parallelism"] = 1
    listed = (_model("c", "a"), _model("a"), _model("b"))
    models = {m.name: m for m in listed}
    written: list[str] = []
    _write_in_order(cfg, models, {n: (lambda n=n: written.append(n)) for n in models})
    assert written == ["a", "b", "c"]


def test_a_failed_check_stops_the_models_that_depend_on_it():
    cfg = load_config("local")
    listed = (_model("a"), _model("b"), _model("c", "a"))
    models = {m.name: m for m in listed}
    written: list[str] = []
    tasks = {n: (lambda n=n: written.append(n)) for n in models}

    def check(name: str) -> None:
        if name == "a":
            raise RuntimeError("gold model a: grain violated")

    with pytest.raises(RuntimeError, match="gold model a: grain violated"):
        _write_in_order(cfg, models, tasks, check)
    assert sorted(written) == ["a", "b"], "the running models finish; c never starts"


def test_the_models_most_others_wait_on_start_first():
    cfg = load_config("local")
    cfg.env.settings.setdefault("spark", {})["table_parallelism"] = 1
    models = gold_models(cfg)
    written: list[str] = []
    _write_in_order(cfg, models, {n: (lambda n=n: written.append(n)) for n in models})
    assert written[:2] == ["dim_client", "dim_product"], "the facts wait on these two"
    assert written.index("fact_sales") < written.index("fact_sales_item"), "four aggregates wait on it"
