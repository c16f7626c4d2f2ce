"""The ranges a gold refresh replaces: every touched key inside one, the widest gaps left out
(pure Python); and the file statistics on the range column that let Delta skip the rest."""

from __future__ import annotations

import random
import re

import pytest

from spark_jobs.jobs.gold_write import range_predicate

RANGE = re.compile(r"\(`(\w+)` BETWEEN (-?\d+) AND (-?\d+)\)")


def ranges(predicate: str) -> list[tuple[int, int]]:
    found = RANGE.findall(predicate)
    assert " OR ".join(f"(`{c}` BETWEEN {a} AND {b})" for c, a, b in found) == predicate
    return [(int(a), int(b)) for _, a, b in found]


def test_one_value_is_one_range():
    assert range_predicate("sale_id", [42]) == "(`sale_id` BETWEEN 42 AND 42)"


def test_ranges_split_at_the_widest_gaps():
    values = [1, 2, 3, 100, 101, 500]
    assert ranges(range_predicate("k", values, max_ranges=3)) == [(1, 3), (100, 101), (500, 500)]
    assert ranges(range_predicate("k", values, max_ranges=2)) == [(1, 101), (500, 500)]
    assert ranges(range_predicate("k", values, max_ranges=1)) == [(1, 500)]


def test_recent_keys_and_a_few_old_ones_leave_the_middle_out():
    old, recent = [17, 5_000], list(range(975_000, 1_006_000, 7))
    spans = ranges(range_predicate("sale_id", old + recent))
    assert (17, 17) in spans and (5_000, 5_000) in spans
    assert max(b for a, b in spans if a < 975_000) == 5_000  # nothing between 5,000 and 975,000


@pytest.mark.parametrize("seed", range(20))
def test_every_value_is_covered_by_at_most_max_ranges_in_order(seed):
    rnd = random.Random(seed)
    values = [rnd.randrange(-1_000, 1_000_000) for _ in range(rnd.randrange(1, 400))]
    limit = rnd.randrange(1, 40)
    spans = ranges(range_predicate("k", values + values[:5], max_ranges=limit))  # repeats too
    assert 1 <= len(spans) <= limit
    assert all(a <= b for a, b in spans)
    assert all(b < c for (_, b), (c, _) in zip(spans, spans[1:], strict=False))  # sorted, disjoint
    assert all(any(a <= v <= b for a, b in spans) for v in values)
    # Each range starts and ends on a value: no range reaches past the keys it covers.
    assert {a for a, _ in spans} | {b for _, b in spans} <= set(values)


def test_a_model_written_by_an_earlier_release_gets_statistics_on_its_range_column(spark, tmp_path):
    """A fact made with statistics on its unique key and dates only (an earlier release) gets the
    scope column's statistics at the next write, so the files written from then on can be skipped
    by range; a model already right is not altered (no extra commit)."""
    from pyspark.sql import functions as F

    from spark_jobs import delta_io
    from spark_jobs.config import GoldModel
    from spark_jobs.jobs import gold_write

    model = GoldModel("fact_x", "one line", ("line_id",), (), ("sale_id",))
    path = str(tmp_path / "fact_x")
    df = spark.range(10).select(
        F.col("id").cast("int").alias("line_id"), (F.col("id") % 3).cast("int").alias("sale_id")
    )
    df.write.format("delta").options(**delta_io.stats_on(["line_id"])).save(path)
    assert delta_io.table_properties(spark, path)["delta.dataSkippingStatsColumns"] == "line_id"

    stats = gold_write._gold_stats(spark, path, model, df)
    assert stats == {"delta.dataSkippingStatsColumns": "line_id,sale_id"}
    assert delta_io.table_properties(spark, path)["delta.dataSkippingStatsColumns"] == "line_id,sale_id"
    version = delta_io.version(spark, path)
    gold_write._gold_stats(spark, path, model, df)
    assert delta_io.version(spark, path) == version
