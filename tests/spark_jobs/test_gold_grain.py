"""The grain check of every gold model: a repeated unique key fails the run naming the model and
the key; keys that only share a hash (a collision) pass."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from spark_jobs.config import GoldModel

pytestmark = pytest.mark.slow

MODELS = {
    "dim_x": GoldModel("dim_x", "one row per x", ("x_id",), (), ("x_id",)),
    "agg_y": GoldModel("agg_y", "one row per y and month", ("y_id", "month"), (), ("y_id", "month")),
}


@pytest.fixture
def gold_lake(spark, tmp_path):
    """The two models above as Delta tables, each key once; returns (cfg, paths)."""
    cfg = SimpleNamespace(env=SimpleNamespace(table_path=lambda layer, name: str(tmp_path / layer / name)))
    paths = {name: cfg.env.table_path("gold", name) for name in MODELS}
    spark.createDataFrame([(i, f"x{i}") for i in range(50)], "x_id int, label string").write.format(
        "delta"
    ).save(paths["dim_x"])
    spark.createDataFrame(
        [(y, m, float(y)) for y in range(10) for m in (None, 1, 2)], "y_id int, month int, amount double"
    ).write.format("delta").save(paths["agg_y"])
    return cfg, paths


def _append_again(spark, path: str, where: str) -> None:
    """Append the rows of the table at `path` matching `where` once more (a duplicate)."""
    from spark_jobs import delta_io

    delta_io.read(spark, path).filter(where).write.format("delta").mode("append").save(path)


def test_unique_keys_pass(spark, gold_lake):
    from spark_jobs.jobs import gold_write

    gold_write.check_grains(spark, gold_lake[0], MODELS)


def test_a_repeated_key_fails_naming_the_model_and_the_key(spark, gold_lake):
    from spark_jobs.jobs import gold_write

    cfg, paths = gold_lake
    _append_again(spark, paths["agg_y"], "y_id = 4 AND month = 2")
    with pytest.raises(gold_write.GrainError, match=r"agg_y: grain violated, 2 rows .* \(y_id=4, month=2\)"):
        gold_write.check_grains(spark, cfg, MODELS)


def test_a_repeated_null_key_fails(spark, gold_lake):
    from spark_jobs.jobs import gold_write

    cfg, paths = gold_lake
    _append_again(spark, paths["agg_y"], "y_id = 3 AND month IS NULL")
    with pytest.raises(gold_write.GrainError, match=r"agg_y: grain violated.*month=None"):
        gold_write.check_grains(spark, cfg, MODELS)


def test_keys_sharing_a_hash_pass_the_exact_check(spark, gold_lake, monkeypatch):
    """Every key hashed alike: each model is suspected, and the exact check clears it, or fails
    it when a key really repeats."""
    from pyspark.sql import functions as F

    from spark_jobs.jobs import gold_write

    cfg, paths = gold_lake
    monkeypatch.setattr(F, "xxhash64", lambda *cols: F.lit(7).cast("long"))
    gold_write.check_grains(spark, cfg, MODELS)
    _append_again(spark, paths["dim_x"], "x_id = 9")
    with pytest.raises(gold_write.GrainError, match=r"dim_x: grain violated, 2 rows .* \(x_id=9\)"):
        gold_write.check_grains(spark, cfg, MODELS)


def _frame(spark, rows):
    return spark.createDataFrame(rows, "y_id int, month int, amount double")


@pytest.mark.parametrize(
    "repeat, named",
    [((4, 2, 9.0), r"\(y_id=4, month=2\)"), ((3, None, 9.0), r"\(y_id=3, month=None\)")],
)
def test_a_guarded_write_of_a_repeated_key_fails_and_commits_nothing(spark, gold_lake, repeat, named):
    """The job writing a small model in one task checks its grain: a repeated key (null keys
    count as equal) fails it with the message of the check after a commit, and the model keeps
    its version and rows."""
    from spark_jobs import delta_io
    from spark_jobs.jobs import gold_write
    from spark_jobs.session import small_batch

    cfg, paths = gold_lake
    cfg.env.settings = {}
    path, model = paths["agg_y"], MODELS["agg_y"]
    unique = [(y, m, 1.0) for y in range(10) for m in (None, 1, 2)]
    # (The first write also gives the table its file statistics, a commit of its own.)
    gold_write.overwrite(spark, cfg, _frame(spark, unique), path, model, True, True)
    version, rows = delta_io.version(spark, path), set(map(tuple, delta_io.read(spark, path).collect()))
    for batch in (True, False):  # interpreted without adaptive execution, and compiled with it
        repeated = rf"agg_y: grain violated, 2 rows .* {named}"
        with small_batch(spark, batch), pytest.raises(gold_write.GrainError, match=repeated):
            gold_write.overwrite(spark, cfg, _frame(spark, [*unique, repeat]), path, model, True, True)
        assert delta_io.version(spark, path) == version
        assert set(map(tuple, delta_io.read(spark, path).collect())) == rows


def test_a_guarded_write_of_unique_keys_writes_every_row(spark, gold_lake):
    from spark_jobs import delta_io
    from spark_jobs.jobs import gold_write

    cfg, paths = gold_lake
    cfg.env.settings = {}
    path = paths["agg_y"]
    unique = [(y, m, float(y) * 2) for y in range(12) for m in (None, 1, 2)]
    gold_write.overwrite(spark, cfg, _frame(spark, unique), path, MODELS["agg_y"], True, True)
    written = [tuple(r) for r in delta_io.read(spark, path).collect()]
    assert len(written) == len(unique) and set(written) == set(unique)
