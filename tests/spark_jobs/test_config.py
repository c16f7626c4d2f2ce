"""The configuration loader: typed objects from conf/, one-line errors for bad files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from spark_jobs.config import DEFAULT_CONF_DIR, ConfigError, load_config

TABLES = ["sales_people", "clients", "client_addresses", "products", "sales", "sales_items"]


@pytest.fixture
def conf_copy(tmp_path) -> Path:
    dst = tmp_path / "conf"
    shutil.copytree(DEFAULT_CONF_DIR, dst)
    return dst


def test_registry_has_the_six_tables_typed_and_immutable():
    cfg = load_config("local")
    assert list(cfg.tables) == TABLES
    clients = cfg.table("clients")
    assert clients.primary_key == ("id",)
    assert set(clients.pii) == {"first_name", "last_name", "email", "phone"}
    assert clients.scd == 2 and clients.effective_column == "updated_at"
    assert clients.column("phone").nullable is True
    assert cfg.table("sales_items").foreign_keys == (
        ("sale_id", "sales", "id"),
        ("product_id", "products", "id"),
    )
    assert cfg.table("products").column("unit_price").type_args == (10, 2)
    with pytest.raises(FrozenInstanceError):
        clients.name = "other"  # type: ignore[misc]


def test_local_paths_default_to_lake_and_follow_lakehouse_root(monkeypatch, tmp_path):
    monkeypatch.delenv("LAKEHOUSE_ROOT", raising=False)
    cfg = load_config("local")
    assert cfg.env.root == str(DEFAULT_CONF_DIR.parent / "lake")
    monkeypatch.setenv("LAKEHOUSE_ROOT", str(tmp_path))
    cfg = load_config("local")
    assert cfg.env.table_path("bronze", "sales") == f"{tmp_path}/bronze/sales"
    assert cfg.env.table_path("gold", "fact_sales") == f"{tmp_path}/gold/fact_sales"
    assert cfg.raw_table_dir("clients") == f"{tmp_path}/raw/salesdb/clients"
    assert cfg.raw.full_load_name(10) == "LOAD0000000A.parquet"


def test_aws_env_expands_bucket_variables(monkeypatch):
    monkeypatch.delenv("LAKEHOUSE_ROOT", raising=False)
    monkeypatch.setenv("LAKEHOUSE_BUCKET_PREFIX", "acme-dev")
    cfg = load_config("aws")
    assert cfg.env.paths["raw"] == "s3://acme-dev-raw"
    assert cfg.env.table_path("silver", "clients") == "s3://acme-dev-silver/clients"
    assert not cfg.env.is_local


def test_aws_env_without_its_variable_names_it(monkeypatch):
    monkeypatch.delenv("LAKEHOUSE_ROOT", raising=False)
    monkeypatch.delenv("LAKEHOUSE_BUCKET_PREFIX", raising=False)
    with pytest.raises(ConfigError, match=r"aws\.yaml: root: environment variable LAKEHOUSE_BUCKET_PREFIX"):
        load_config("aws")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("id, type: int}", "id, type: integerish}", 1),
            r"tables\.yaml: tables\.sales_people\.columns\[0\]\.type: unknown",
        ),
        (
            ("primary_key: [id]", "primary_key: [nope]", 1),
            r"tables\.sales_people\.primary_key: unknown column 'nope'",
        ),
        (("pii: [email]", "pii: [mail]", 1), r"tables\.sales_people\.pii: unknown column 'mail'"),
        (("policy: quarantine", "policy: shrug", 1), r"expectations\[0\]\.policy: unknown policy 'shrug'"),
        (("{sale_id: sales.id", "{sale_id: sale.id", 1), r"tables\.sales_items\.foreign_keys\.sale_id"),
        (("scd: 2", "scd: 3", 1), r"tables\.clients\.scd: expected 1 or 2"),
        (("tables:\n", "tablez:\n", 1), r"tables\.yaml: tables: required key is missing"),
        (("  clients:\n", "  clients: [\n", 1), r"tables\.yaml: line \d+: not valid YAML"),
    ],
)
def test_bad_registry_names_the_file_and_key(conf_copy, edit, message):
    path = conf_copy / "tables.yaml"
    old, new, count = edit
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, count))
    with pytest.raises(ConfigError, match=message):
        load_config("local", conf_copy)


def test_bad_raw_contract_names_the_key(conf_copy):
    path = conf_copy / "raw_contract.yaml"
    path.write_text(
        path.read_text().replace("include_op_for_full_load: true", "include_op_for_full_load: false")
    )
    with pytest.raises(ConfigError, match=r"raw_contract\.yaml: s3_settings\.include_op_for_full_load"):
        load_config("local", conf_copy)


def test_unknown_environment_lists_the_known_ones(conf_copy):
    with pytest.raises(ConfigError, match=r"unknown environment 'prod'; known: aws, local"):
        load_config("prod", conf_copy)


def test_cli_prints_a_one_line_error_for_a_malformed_file(conf_copy):
    path = conf_copy / "tables.yaml"
    path.write_text(path.read_text().replace("type: varchar(60)", "type: varchar(sixty)", 1))
    proc = subprocess.run(
        [sys.executable, "-m", "local_aws.cli", "mysql", "status"],
        capture_output=True,
        text=True,
        env={"LAKEHOUSE_CONF_DIR": str(conf_copy), "PATH": "/usr/bin:/bin"},
        cwd=DEFAULT_CONF_DIR.parent,
        check=False,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert (
        "tables.yaml: tables.sales_people.columns[1].type: unknown column type 'varchar(sixty)'" in lines[0]
    )
