"""terraform/conf.tf, evaluated by Terraform itself (no provider needed): what conf/ turns into.

These locals feed the DMS task, the S3 endpoint, the crawlers, Lake Formation and Athena, so
checking their evaluated values checks the generated infrastructure against conf/ and against
where the Spark jobs actually read and write.
"""

from __future__ import annotations

import pytest
import yaml

from spark_jobs import run_log
from spark_jobs.config import load_config, load_environment
from spark_jobs.jobs.bronze import quarantine_files_path
from spark_jobs.jobs.silver import quarantine_path, released_path
from tests.terraform.tfhelpers import CONF, evaluate_conf, load_yaml

REGISTRY = load_yaml(CONF / "tables.yaml")
CONTRACT = load_yaml(CONF / "raw_contract.yaml")
TABLES = sorted(REGISTRY["tables"])
BUCKET_PREFIX = "lakehouse-test-123456789012"
# The ops tables the gold crawler catalogues beside the models (terraform/conf.tf ops_catalogued).
OPS_TABLES = ("pipeline_runs", "quarantine_files", "quarantine_rows", "quarantine_released")


@pytest.fixture(scope="module")
def conf(tmp_path_factory):
    return evaluate_conf(tmp_path_factory.mktemp("tfconf"), bucket_prefix=BUCKET_PREFIX)


def rules_of(conf, rule_type):
    return [r for r in conf["dms_table_mappings"]["rules"] if r["rule-type"] == rule_type]


def test_every_registered_table_is_selected_by_dms(conf):
    selected = {
        r["object-locator"]["table-name"]: r
        for r in rules_of(conf, "selection")
        if r["rule-action"] == "include"
    }
    assert sorted(selected) == TABLES
    for table, rule in selected.items():
        # Never "%" as schema (it would pull the system databases): the registry's database.
        assert rule["object-locator"]["schema-name"] == REGISTRY["source"]["database"], table


def test_every_table_gets_the_change_sequence_column(conf):
    added = {r["object-locator"]["table-name"]: r for r in rules_of(conf, "transformation")}
    assert sorted(added) == TABLES
    for table, rule in added.items():
        assert rule["rule-action"] == "add-column", table
        assert rule["rule-target"] == "column", table
        assert rule["value"] == CONTRACT["change_seq_column"], table
        assert rule["expression"] == "$AR_H_CHANGE_SEQ" == CONTRACT["change_seq_expression"], table
        assert rule["data-type"] == {"type": "string", "length": 50}, table
        assert rule["object-locator"]["schema-name"] == REGISTRY["source"]["database"], table


def test_rule_ids_are_unique_numbers(conf):
    ids = [r["rule-id"] for r in conf["dms_table_mappings"]["rules"]]
    assert len(ids) == len(set(ids)) == 2 * len(TABLES)
    assert all(i.isdigit() for i in ids)


def test_dms_s3_settings_are_the_raw_zone_contract(conf):
    assert conf["dms_s3_settings"] == CONTRACT["s3_settings"]
    assert conf["dms_bucket_folder"] == CONTRACT["bucket_folder"]
    # The columns bronze relies on are switched on, in the contract's names.
    assert conf["dms_s3_settings"]["include_op_for_full_load"] is True
    assert conf["dms_s3_settings"]["timestamp_column_name"] == CONTRACT["commit_ts_column"]


def test_one_crawler_per_layer_with_every_table(conf):
    crawlers = conf["crawlers"]
    assert sorted(crawlers) == ["lakehouse-test-bronze", "lakehouse-test-gold", "lakehouse-test-silver"]
    for layer in ("bronze", "silver"):
        crawler = crawlers[f"lakehouse-test-{layer}"]
        assert crawler["layer"] == layer
        tables = [p.rstrip("/").rsplit("/", 1)[1] for p in crawler["paths"]]
        assert tables == TABLES
    # The gold crawler holds one target per model of conf/gold.yaml, and the run log.
    models = sorted(yaml.safe_load((CONF / "gold.yaml").read_text())["models"])
    gold = [p.rstrip("/").rsplit("/", 1)[1] for p in crawlers["lakehouse-test-gold"]["paths"]]
    assert gold == [*models, *OPS_TABLES]


def test_crawlers_target_where_the_spark_jobs_write(conf, monkeypatch):
    # The same conf/env/aws.yaml the jobs load on EMR, with the same bucket prefix.
    monkeypatch.setenv("LAKEHOUSE_BUCKET_PREFIX", BUCKET_PREFIX)
    env = load_environment(CONF, "aws")
    for crawler in conf["crawlers"].values():
        for path in crawler["paths"]:
            table = path.rstrip("/").rsplit("/", 1)[1]
            layer = "ops" if table in OPS_TABLES else crawler["layer"]
            assert path == env.table_path(layer, table) + "/"
    # The run log and the quarantine are where the jobs write them, in the gold bucket the crawler reads.
    gold = conf["crawlers"]["lakehouse-test-gold"]["paths"]
    cfg = load_config("aws")
    ops = (quarantine_files_path(cfg), quarantine_path(cfg), released_path(cfg))
    for path in (run_log.run_log_path(env.paths["ops"]), *ops):
        assert path + "/" in gold
    assert env.paths["ops"].startswith(f"s3://{conf['bucket_names']['gold']}/")


def test_lake_buckets_come_from_the_aws_environment(conf, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_BUCKET_PREFIX", BUCKET_PREFIX)
    env = load_environment(CONF, "aws")
    for layer in ("raw", "bronze", "silver", "gold"):
        assert f"s3://{conf['bucket_names'][layer]}" == env.paths[layer].rstrip("/")
    assert set(conf["bucket_names"]) == {
        "raw",
        "bronze",
        "silver",
        "gold",
        "artifacts",
        "logs",
        "athena_results",
    }


def test_glue_databases_per_layer(conf):
    assert conf["glue_databases"] == {
        layer: {"name": f"lakehouse_test_{layer}", "location": f"s3://{BUCKET_PREFIX}-{layer}/"}
        for layer in ("bronze", "silver", "gold")
    }


def test_pii_columns_withheld_in_silver_are_the_registry_pii(conf):
    assert conf["silver_pii_columns"] == {t: REGISTRY["tables"][t].get("pii", []) for t in TABLES}
    assert "email" in conf["silver_pii_columns"]["clients"]


def test_pii_salt_secret_is_the_one_the_jobs_read(conf):
    assert conf["pii_salt_secret_name"] == load_yaml(CONF / "env" / "aws.yaml")["pii_salt"]["secret_id"]


def test_no_named_queries_and_no_requirements_without_files(conf):
    assert conf["athena_named_queries"] == {}
    assert conf["dag_requirements"] is None


def test_gold_models_get_crawlers_and_sql_files_named_queries(tmp_path):
    gold = "models:\n  dim_date:\n    grain: [date_key]\n  fact_sales:\n    grain: [sale_id]\n"
    conf = evaluate_conf(
        tmp_path,
        bucket_prefix=BUCKET_PREFIX,
        extra_files={
            "conf/gold.yaml": gold,
            "sql/athena/queries/top_clients.sql": "SELECT 1\n",
            "sql/athena/queries/readme.txt": "not a query\n",
            "dags/requirements.txt": "apache-airflow-providers-amazon\n",
        },
    )
    assert conf["gold_model_names"] == ["dim_date", "fact_sales"]
    assert conf["crawlers"]["lakehouse-test-gold"] == {
        "layer": "gold",
        "paths": [
            *(f"s3://{BUCKET_PREFIX}-gold/{m}/" for m in ("dim_date", "fact_sales")),
            *(f"s3://{BUCKET_PREFIX}-gold/_ops/{t}/" for t in OPS_TABLES),
        ],
    }
    assert conf["athena_named_queries"] == {
        "top_clients": {
            "database": "lakehouse_test_gold",
            "sql": "SELECT 1\n",
            "description": "sql/athena/queries/top_clients.sql",
        }
    }
    assert conf["dag_requirements"].endswith("dags/requirements.txt")


def test_a_new_table_in_the_registry_reaches_dms_and_the_crawlers(tmp_path):
    registry = (CONF / "tables.yaml").read_text() + (
        "\n  returns:\n    primary_key: [id]\n    columns:\n      - {name: id, type: int}\n"
        "    pii: []\n    foreign_keys: {}\n    scd: 1\n    expectations: []\n"
    )
    conf = evaluate_conf(tmp_path, extra_files={"conf/tables.yaml": registry})
    assert "returns" in [r["object-locator"]["table-name"] for r in rules_of(conf, "selection")]
    assert "returns" in [r["object-locator"]["table-name"] for r in rules_of(conf, "transformation")]
    for layer in ("bronze", "silver"):
        paths = conf["crawlers"][f"lakehouse-test-{layer}"]["paths"]
        assert f"s3://lakehouse-test-123456789012-{layer}/returns/" in paths
