"""Orchestration settings and the Spark request bodies built from them (no Airflow run)."""

from __future__ import annotations

import shutil

import pytest
from lakehouse_orchestration import settings, spark

from spark_jobs.config import ConfigError, load_tables
from tests.dags.harness import DAGS_DIR, REPO, write_conf

BUCKET_PREFIX = "{{ var.value.LAKEHOUSE_BUCKET_PREFIX }}"
VERSION = "{{ params.artifacts_version or var.value.get('LAKEHOUSE_ARTIFACTS_VERSION', 'latest') }}"


@pytest.fixture
def s(monkeypatch):
    monkeypatch.delenv("LAKEHOUSE_CONF_DIR", raising=False)
    return settings.load(DAGS_DIR)


def test_raw_locations_come_from_the_table_registry_and_the_aws_env(s):
    _, tables = load_tables(REPO / "conf")
    assert s.conf_dir == REPO / "conf"
    assert s.tables == tuple(tables)
    assert s.raw_prefixes == tuple(f"salesdb/{t}/" for t in tables)
    assert s.raw_root == f"s3://{BUCKET_PREFIX}-raw"
    assert s.watermark_uri == f"s3://{BUCKET_PREFIX}-gold/_ops/dag_watermark.json"
    # The Spark driver expands env/aws.yaml itself, so it gets the values that file uses.
    assert s.job_env_vars == {"LAKEHOUSE_BUCKET_PREFIX": BUCKET_PREFIX}


def test_deployment_values_become_run_time_templates(s):
    assert s.get("emr.service_role") == "{{ var.value.LAKEHOUSE_NAME_PREFIX }}-emr-service"
    assert s.crawler_name("gold") == "{{ var.value.LAKEHOUSE_NAME_PREFIX }}-gold"
    with pytest.raises(ConfigError, match=r"orchestration.yaml: emr.nonexistent: required key is missing"):
        s.get("emr.nonexistent")


def test_conf_lookup_prefers_the_environment_then_the_folder_beside_the_dag(tmp_path, monkeypatch):
    monkeypatch.delenv("LAKEHOUSE_CONF_DIR", raising=False)
    dags = tmp_path / "dags"
    dags.mkdir()
    assert settings.find_conf_dir(dags) == REPO / "conf"  # a repository checkout
    shutil.copytree(REPO / "conf", dags / "conf")
    assert settings.find_conf_dir(dags) == dags / "conf"  # the MWAA layout
    monkeypatch.setenv("LAKEHOUSE_CONF_DIR", str(tmp_path / "elsewhere"))
    assert settings.find_conf_dir(dags) == tmp_path / "elsewhere"


def test_cluster_request(s):
    request = spark.job_flow_overrides(s)
    assert request["ReleaseLabel"] == "emr-7.13.0"
    assert request["Applications"] == [{"Name": "Spark"}]
    assert request["Instances"]["KeepJobFlowAliveWhenNoSteps"] is True
    assert request["AutoTerminationPolicy"] == {"IdleTimeout": 1800}
    assert [c["Classification"] for c in request["Configurations"]] == [
        "delta-defaults",
        "spark-hive-site",
        "spark-env",
    ]
    assert {"Key": "airflow-run-id", "Value": "{{ run_id }}"} in request["Tags"]


def test_instance_groups_skip_empty_groups_and_pass_spot_prices(tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    shutil.copytree(REPO / "conf", conf)
    groups = [
        {"role": "MASTER", "instance_type": "m7g.xlarge", "count": 1, "market": "ON_DEMAND"},
        {"role": "CORE", "instance_type": "r7g.2xlarge", "count": 3, "market": "SPOT", "bid_price": 0.25},
        {"role": "TASK", "instance_type": "m7g.xlarge", "count": 0, "market": "SPOT"},
    ]
    monkeypatch.setenv("LAKEHOUSE_CONF_DIR", str(write_conf(conf, emr={"instance_groups": groups})))

    request = spark.job_flow_overrides(settings.load(DAGS_DIR))

    assert request["Instances"]["InstanceGroups"] == [
        {
            "Name": "master",
            "InstanceRole": "MASTER",
            "InstanceType": "m7g.xlarge",
            "InstanceCount": 1,
            "Market": "ON_DEMAND",
        },
        {
            "Name": "core",
            "InstanceRole": "CORE",
            "InstanceType": "r7g.2xlarge",
            "InstanceCount": 3,
            "Market": "SPOT",
            "BidPrice": "0.25",
        },
    ]


def test_a_group_without_an_instance_type_is_named(tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    shutil.copytree(REPO / "conf", conf)
    groups = [{"role": "MASTER", "count": 1, "market": "ON_DEMAND"}]
    monkeypatch.setenv("LAKEHOUSE_CONF_DIR", str(write_conf(conf, emr={"instance_groups": groups})))
    with pytest.raises(ConfigError, match=r"emr.instance_groups: .*MASTER.* lacks instance_type"):
        settings.load(DAGS_DIR)


def test_step_runs_the_uploaded_entry_point_for_one_layer(s):
    step = spark.emr_step(s, "silver")
    location = f"s3://{BUCKET_PREFIX}-artifacts/lakehouse/{VERSION}"
    assert step["Name"] == "lakehouse-silver"
    assert step["ActionOnFailure"] == "CONTINUE"
    assert step["HadoopJarStep"] == {
        "Jar": "command-runner.jar",
        "Args": [
            "spark-submit",
            "--deploy-mode",
            "cluster",
            "--py-files",
            f"{location}/spark_jobs.zip,/usr/share/aws/delta/lib/delta-spark.jar",
            "--archives",
            f"{location}/conf.zip#conf",
            "--conf",
            f"spark.yarn.appMasterEnv.LAKEHOUSE_BUCKET_PREFIX={BUCKET_PREFIX}",
            f"{location}/main.py",
            "--env",
            "aws",
            "--layers",
            "silver",
            "--conf-dir",
            "conf",
            "--run-id",
            "{{ run_id }}",
        ],
    }
