"""The dependency waves gold writes its models in (pure Python, no Spark session)."""

from __future__ import annotations

import pytest

from spark_jobs.config import GoldModel, gold_models, load_config
from spark_jobs.jobs.gold import waves


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
    assert wave_of["agg_daily_sales"] > wave_of["fact_sales"] > wave_of["fact_sales_item"]


def test_independent_models_share_a_wave_and_silver_inputs_do_not_count():
    listed = (_model("a", "silver_x"), _model("b"), _model("c", "a", "b"), _model("d", "a"))
    models = {m.name: m for m in listed}
    assert waves(models) == [["a", "b"], ["c", "d"]]


def test_a_dependency_cycle_is_refused_with_the_models_named():
    models = {m.name: m for m in (_model("a", "b"), _model("b", "a"))}
    with pytest.raises(ValueError, match="cycle"):
        waves(models)
