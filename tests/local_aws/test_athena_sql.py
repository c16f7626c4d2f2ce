"""The repository's Athena SQL: DDL, views and named queries are well formed; bad files are named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from local_aws.athena import (
    SQL_DIR,
    LocalAthena,
    SqlFileError,
    format_table,
    parse_file,
    referenced_tables,
    table_definitions,
    view_definitions,
)
from local_aws.reconcile import GOLD_CHECKS, MYSQL_SQL_DIR
from spark_jobs.config import load_config

REPO = Path(__file__).resolve().parents[2]
# The gold table contract (docs/athena.md); conf/gold.yaml, where present, must declare the same.
GOLD_MODELS = {
    "dim_date", "dim_client", "dim_product", "dim_sales_person", "fact_sales_item", "fact_sales",
    "agg_daily_sales", "agg_product_month", "agg_sales_person_month", "agg_client_lifetime",
}  # fmt: skip


def test_one_native_delta_ddl_per_gold_model():
    tables = table_definitions()
    assert set(tables) == GOLD_MODELS
    for name, table in tables.items():
        assert table.file.stem == name
        assert table.location == f"${{gold_root}}/{name}/"
        text = table.file.read_text()
        # Athena's native Delta DDL: no columns, no SerDe, only LOCATION and table_type.
        body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
        assert body.split() == [
            "CREATE", "EXTERNAL", "TABLE", name, "LOCATION", f"'${{gold_root}}/{name}/'",
            "TBLPROPERTIES", "('table_type'", "=", "'DELTA')",
        ]  # fmt: skip


def test_gold_conf_declares_the_models_the_ddl_registers():
    gold_yaml = REPO / "conf" / "gold.yaml"
    if gold_yaml.is_file():
        assert set(yaml.safe_load(gold_yaml.read_text())["models"]) == GOLD_MODELS
    else:  # only before the gold jobs exist
        assert not (REPO / "spark_jobs" / "jobs" / "gold.py").exists(), "the gold jobs need conf/gold.yaml"


def test_ddl_location_expands_to_the_local_gold_layer(lake_root):
    cfg = load_config("local")
    assert table_definitions()["fact_sales"].path(cfg) == f"{lake_root}/gold/fact_sales"


def test_views_read_only_gold_tables_and_views():
    known = set(table_definitions()) | set(view_definitions())
    for view in view_definitions().values():
        assert set(referenced_tables(view.query)) <= known, view.file


def test_at_least_eight_named_queries_each_with_a_question_and_a_mysql_twin():
    queries = sorted((SQL_DIR / "queries").glob("*.sql"))
    assert len(queries) >= 8
    known = set(table_definitions()) | set(view_definitions())
    for path in queries:
        first = path.read_text().splitlines()[0]
        assert first.startswith("-- Question: "), f"{path.name}: first line must name the question"
        (query,) = parse_file(path)
        assert set(referenced_tables(query)) <= known, path.name
        twin = MYSQL_SQL_DIR / "queries" / path.name
        assert twin.is_file(), f"no MySQL twin for {path.name}"


def test_every_gold_check_has_a_truth_file():
    for check in GOLD_CHECKS:
        assert (MYSQL_SQL_DIR / "truths" / f"{check.model}.sql").is_file(), check.model
        assert check.model in GOLD_MODELS


def test_a_file_that_is_not_sql_is_named_with_its_line(tmp_path):
    bad = tmp_path / "broken.sql"
    bad.write_text("-- Question: nothing\nSELECT revenue FROM agg_daily_sales WHERE (\n")
    with pytest.raises(SqlFileError, match=r"broken\.sql: line \d+, column \d+: not valid Athena"):
        parse_file(bad)


def test_a_query_on_an_unknown_table_names_file_and_table(spark, lake_root, tmp_path):
    query = tmp_path / "q.sql"
    query.write_text("SELECT * FROM fact_refunds")
    athena = LocalAthena(spark, load_config("local"))
    with pytest.raises(SqlFileError, match=r"q\.sql: table 'fact_refunds' is neither a gold table"):
        athena.run(query)


def test_a_gold_table_not_built_yet_is_named_with_its_path(spark, lake_root):
    athena = LocalAthena(spark, load_config("local"))
    with pytest.raises(SqlFileError, match=rf"table agg_daily_sales has no Delta table at {lake_root}/gold"):
        athena.run("daily_revenue_trend")


def test_cli_sql_fails_on_a_bad_file_naming_it(tmp_path):
    bad = tmp_path / "typo.sql"
    bad.write_text("SELEC 1 FROM dim_date")
    out = subprocess.run(
        [sys.executable, "-m", "local_aws.cli", "sql", str(bad)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 1
    assert out.stderr.startswith(f"lakehouse sql: error: {bad}")
    missing = subprocess.run(
        [sys.executable, "-m", "local_aws.cli", "sql", "no_such_query"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert missing.returncode == 1
    assert "no_such_query: no such SQL file" in missing.stderr


def test_format_table_aligns_and_counts():
    text = format_table(["day", "revenue"], [("2025-01-01", 10), ("2025-01-02", None)], total=5)
    assert text.splitlines() == [
        "day        | revenue",
        "-----------+--------",
        "2025-01-01 |      10",
        "2025-01-02 |    NULL",
        "(5 rows, showing 2)",
    ]


def test_terraform_saves_every_named_query_under_its_file_name(tmp_path):
    from tests.terraform.tfhelpers import evaluate_conf

    files = {f"sql/athena/queries/{p.name}": p.read_text() for p in (SQL_DIR / "queries").glob("*.sql")}
    conf = evaluate_conf(tmp_path, extra_files=files)
    named = conf["athena_named_queries"]
    assert sorted(named) == sorted(Path(f).stem for f in files)
    for name, query in named.items():
        assert query["sql"] == (SQL_DIR / "queries" / f"{name}.sql").read_text()
        assert query["database"] == "lakehouse_test_gold"
