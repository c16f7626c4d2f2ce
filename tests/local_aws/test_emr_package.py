"""The EMR artifacts of `lakehouse package --emr-only` (`make spark-zip`): built alone, and the
entry point runs from them without the repository (as on EMR)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from deltalake import DeltaTable

from spark_jobs.config import DEFAULT_CONF_DIR, load_config
from spark_jobs.session import local_jars
from tests.rawfiles import client, write_raw

REPO = DEFAULT_CONF_DIR.parent


def _package(dist: Path) -> Path:
    """Build the EMR artifacts as `make spark-zip` does; returns the folder holding them."""
    proc = subprocess.run(
        [sys.executable, "-m", "local_aws.cli", "package", "--out", str(dist), "--emr-only"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not (dist / "mwaa").exists(), "--emr-only built the MWAA bundle too"
    return dist / "emr"


def test_make_spark_zip_builds_the_emr_artifacts_alone(tmp_path):
    # Reproducibility and the zips' contents: tests/dags/test_package.py (build_emr_artifacts).
    emr = _package(tmp_path / "dist")
    jobs = zipfile.ZipFile(emr / "spark_jobs.zip")
    names = jobs.namelist()
    assert {"spark_jobs/main.py", "spark_jobs/jobs/silver.py", "spark_jobs/config.py"} <= set(names)
    assert "yaml/__init__.py" in names  # the config loader's PyYAML, for an EMR Python without it
    assert names == sorted(names)
    assert {info.external_attr >> 16 for info in jobs.infolist()} == {0o644}
    assert "tables.yaml" in zipfile.ZipFile(emr / "conf.zip").namelist()


@pytest.mark.slow
def test_spark_submit_runs_from_the_zip_without_the_repository(tmp_path, lake_root, monkeypatch):
    dist = _package(tmp_path / "dist")
    work = tmp_path / "container"  # stands in for the YARN container's working directory
    work.mkdir()
    shutil.copy(dist / "main.py", work / "main.py")
    with zipfile.ZipFile(dist / "conf.zip") as zf:
        zf.extractall(work / "conf")
    monkeypatch.setenv("LAKEHOUSE_PII_SALT", "salt")
    write_raw(load_config("local"), "clients", "LOAD00000001.parquet", [client(1, "a@x", 0)])
    env = {
        "PATH": os.environ["PATH"],
        "JAVA_HOME": os.environ.get("JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64"),
        "LAKEHOUSE_ROOT": str(lake_root),
        "LAKEHOUSE_JARS_DIR": str(REPO / "jars"),
        "LAKEHOUSE_PII_SALT": "salt",
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
    }
    # spark-submit starts the JVM before Python runs, so the jars go on its command line (on EMR
    # the delta-defaults classification provides them).
    spark_submit = Path(sys.executable).parent / "spark-submit"
    proc = subprocess.run(
        [
            str(spark_submit),
            "--jars",
            ",".join(local_jars()),
            "--py-files",
            str(dist / "spark_jobs.zip"),
            "main.py",
            "--env",
            "local",
            "--layers",
            "bronze,silver",
            "--tables",
            "clients",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = DeltaTable(str(lake_root / "_ops" / "pipeline_runs")).to_pyarrow_table().to_pylist()
    assert {(r["job"], r["table_name"], r["status"]) for r in runs} == {
        ("bronze", "clients", "ok"),
        ("silver", "clients", "ok"),
    }
    assert DeltaTable(str(lake_root / "silver" / "clients")).to_pyarrow_table().num_rows == 1
