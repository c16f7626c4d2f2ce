"""`lakehouse package`: the EMR artifacts and the MWAA bundle, and the MWAA requirements."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile

from local_aws.commands.package import (
    build_emr_artifacts,
    build_mwaa_bundle,
    constraint_file_name,
    requirement_pins,
    rewrite_constraints,
)
from tests.dags.harness import OFFICIAL_CONSTRAINTS_SAMPLE, REPO


def test_spark_jobs_zip_loads_the_configuration_without_site_packages(tmp_path):
    spark_jobs_zip, conf_zip, main = build_emr_artifacts(tmp_path / "emr")
    names = zipfile.ZipFile(spark_jobs_zip).namelist()
    assert {"spark_jobs/__init__.py", "spark_jobs/config.py", "yaml/__init__.py"} <= set(names)
    assert not any("__pycache__" in n for n in names)
    assert main.read_text() == (REPO / "spark_jobs" / "main.py").read_text()
    # conf.zip unpacks as ./conf on the driver: its files sit at the archive's root.
    with zipfile.ZipFile(conf_zip) as zf:
        assert {"tables.yaml", "raw_contract.yaml", "env/aws.yaml", "orchestration.yaml"} <= set(
            zf.namelist()
        )
        zf.extractall(tmp_path / "conf")

    # Like EMR's Python: no site-packages (-S), only the zip; PyYAML must come from the zip.
    code = (
        f"import sys; sys.path.insert(0, {str(spark_jobs_zip)!r}); import yaml; "
        f"assert yaml.__file__.startswith({str(spark_jobs_zip)!r}), yaml.__file__; "
        "from spark_jobs.config import load_tables; "
        f"print(','.join(load_tables(__import__('pathlib').Path({str(tmp_path / 'conf')!r}))[1]))"
    )
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "sales_people,clients,client_addresses,products,sales,sales_items"


def test_the_artifacts_are_reproducible(tmp_path):
    first = [p.read_bytes() for p in build_emr_artifacts(tmp_path / "a")]
    second = [p.read_bytes() for p in build_emr_artifacts(tmp_path / "b")]
    assert first == second


def test_mwaa_bundle_holds_the_dag_its_conf_and_the_constraints(tmp_path):
    official = tmp_path / "constraints-3.12.txt"
    official.write_text(OFFICIAL_CONSTRAINTS_SAMPLE)

    dags, requirements = build_mwaa_bundle(tmp_path / "mwaa", str(official))

    files = {p.relative_to(dags).as_posix() for p in dags.rglob("*") if p.is_file()}
    assert {
        "lakehouse_pipeline.py",
        ".airflowignore",
        "lakehouse_orchestration/tasks.py",
        "conf/orchestration.yaml",
        "conf/tables.yaml",
        "spark_jobs/__init__.py",
        "spark_jobs/config.py",
        "constraints-3.12-lakehouse.txt",
    } <= files
    assert "README.md" not in files and "requirements.txt" not in files
    assert not any(f == "spark_jobs/main.py" or "__pycache__" in f for f in files)
    constraints = requirement_pins((dags / "constraints-3.12-lakehouse.txt").read_text())
    assert constraints["apache-airflow-providers-amazon"] == "9.39.0"
    assert constraints["apache-airflow-providers-common-sql"] == "2.4.0"
    assert constraints["boto3"] == "1.40.61"  # untouched
    assert requirements.read_text() == (REPO / "dags" / "requirements.txt").read_text()


def test_rewrite_constraints_substitutes_and_appends_pins():
    official = "# header\nApache_Airflow_Providers_Amazon==9.34.0\nboto3==1.40.61 ; python_version >= '3.9'\n"
    pins = {"apache-airflow-providers-amazon": "9.39.0", "apache-airflow-providers-common-compat": "1.23.0"}
    assert rewrite_constraints(official, pins) == (
        "# header\nApache_Airflow_Providers_Amazon==9.39.0\nboto3==1.40.61 ; python_version >= '3.9'\n"
        "apache-airflow-providers-common-compat==1.23.0\n"
    )


def test_mwaa_requirements_pin_the_tested_provider_behind_a_constraint_in_the_dags_folder():
    text = (REPO / "dags" / "requirements.txt").read_text()
    assert constraint_file_name(text) == "constraints-3.12-lakehouse.txt"
    assert '--constraint "/usr/local/airflow/dags/constraints-3.12-lakehouse.txt"' in text
    tested = requirement_pins(
        "\n".join(
            tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"][
                "airflow"
            ]
        )
    )
    pins = requirement_pins(text)
    assert pins["apache-airflow-providers-amazon"] == tested["apache-airflow-providers-amazon"]
    assert "apache-airflow" not in pins  # MWAA owns the Airflow version itself


def test_package_command_writes_both_bundles_and_names_a_missing_constraints_file(tmp_path):
    official = tmp_path / "constraints-3.12.txt"
    official.write_text(OFFICIAL_CONSTRAINTS_SAMPLE)
    cmd = [sys.executable, "-m", "local_aws.cli", "package", "--out", str(tmp_path / "dist")]

    done = subprocess.run(
        [*cmd, "--airflow-constraints", str(official)], cwd=REPO, capture_output=True, text=True, check=False
    )

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "dist" / "emr" / "spark_jobs.zip").is_file()
    assert (tmp_path / "dist" / "mwaa" / "dags" / "lakehouse_pipeline.py").is_file()
    missing = subprocess.run(
        [*cmd, "--airflow-constraints", str(tmp_path / "nope.txt")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 1
    assert f"cannot read the Airflow constraints {tmp_path / 'nope.txt'}" in missing.stderr
