"""The deploy workflow's upload step, against moto's S3."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import sys
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from tests.terraform.tfhelpers import CONF, TF

_spec = importlib.util.spec_from_file_location("publish_release", TF / "scripts" / "publish_release.py")
pr = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = pr
_spec.loader.exec_module(pr)

BUCKET = "lakehouse-test-123456789012-artifacts"
SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def repo(tmp_path):
    # What `make lambda-zip` and `lakehouse package --out dist` leave in dist/, plus conf/ and dags/.
    (tmp_path / "conf" / "env").mkdir(parents=True)
    shutil.copy(CONF / "orchestration.yaml", tmp_path / "conf" / "orchestration.yaml")
    (tmp_path / "conf" / "tables.yaml").write_text("tables: {}\n")
    (tmp_path / "conf" / "env" / "aws.yaml").write_text("name: aws\n")
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "lakehouse_dag.py").write_text("DAG_ID = 'lakehouse'\n")
    (tmp_path / "dags" / "requirements.txt").write_text("apache-airflow-providers-amazon\n")
    (tmp_path / "dist" / "emr").mkdir(parents=True)
    for name in ("spark_jobs.zip", "conf.zip", "main.py"):
        (tmp_path / "dist" / "emr" / name).write_bytes(f"contents of {name}".encode())
    (tmp_path / "dist" / "lambda_seed.zip").write_bytes(b"contents of lambda_seed.zip")
    bundle = tmp_path / "dist" / "mwaa" / "dags"
    (bundle / "spark_jobs").mkdir(parents=True)
    (bundle / "conf").mkdir()
    (bundle / "lakehouse_dag.py").write_text("DAG_ID = 'lakehouse'\n")
    (bundle / "spark_jobs" / "config.py").write_text("# the config loader\n")
    (bundle / "conf" / "tables.yaml").write_text("tables: {}\n")
    (bundle / "constraints-3.12-lakehouse.txt").write_text("boto3==1.0\n")
    (tmp_path / "dags" / "__pycache__").mkdir()
    (tmp_path / "dags" / "__pycache__" / "lakehouse_dag.cpython-311.pyc").write_bytes(b"\0")
    return tmp_path


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield client


def keys(s3, prefix=""):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def tags(s3, key):
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]}


def test_publish_uploads_a_tagged_release_with_a_manifest(repo, s3, tmp_path):
    deployment = tmp_path / "deployment.json"
    deployment.write_text('{"athena_workgroup": "lakehouse-test"}')
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    manifest = pr.publish(
        s3, BUCKET, SHA, repo=repo, ref="refs/heads/main", deployment_json=deployment, now=now
    )

    # Where the DAG's steps read spark_jobs.zip, conf.zip and main.py (artifacts.location).
    release = f"lakehouse/{SHA}/"
    assert keys(s3, release) == sorted(
        release + k
        for k in (
            "spark_jobs.zip",
            "conf.zip",
            "main.py",
            "lambda_seed.zip",
            "manifest.json",
            "conf/orchestration.yaml",
            "conf/tables.yaml",
            "conf/env/aws.yaml",
            "dags/lakehouse_dag.py",
            "dags/requirements.txt",
        )
    )
    for key in keys(s3, release) + ["lakehouse/latest.json"]:
        assert tags(s3, key) == {"commit_sha": SHA, "published_at": "2026-11-23T10:00:00Z"}, key

    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=release + "manifest.json")["Body"].read())
    assert stored == manifest
    assert stored["commit_sha"] == SHA and stored["ref"] == "refs/heads/main"
    body = s3.get_object(Bucket=BUCKET, Key=release + "lambda_seed.zip")["Body"].read()
    assert stored["files"][release + "lambda_seed.zip"]["sha256"] == hashlib.sha256(body).hexdigest()

    # The DAG folder is the MWAA bundle: the DAG imports spark_jobs.config from beside it, and
    # requirements.txt names the constraints file shipped there.
    assert keys(s3, pr.DAG_PREFIX) == [
        "mwaa/dags/conf/tables.yaml",
        "mwaa/dags/constraints-3.12-lakehouse.txt",
        "mwaa/dags/deployment.json",
        "mwaa/dags/lakehouse_dag.py",
        "mwaa/dags/spark_jobs/config.py",
    ]
    latest = json.loads(s3.get_object(Bucket=BUCKET, Key="lakehouse/latest.json")["Body"].read())
    assert latest["manifest"] == release + "manifest.json"


def test_the_release_becomes_the_dags_artifacts_version(repo, s3):
    secrets = boto3.client("secretsmanager", region_name="eu-west-1")
    prefix = "lakehouse-test/airflow/variables"
    pr.publish(s3, BUCKET, SHA, repo=repo, secrets=secrets, variables_prefix=prefix)
    variable = f"{prefix}/LAKEHOUSE_ARTIFACTS_VERSION"
    assert secrets.get_secret_value(SecretId=variable)["SecretString"] == SHA
    pr.publish(s3, BUCKET, "f" * 40, repo=repo, secrets=secrets, variables_prefix=prefix)
    assert secrets.get_secret_value(SecretId=variable)["SecretString"] == "f" * 40


def test_a_removed_dag_leaves_the_dag_folder(repo, s3):
    pr.publish(s3, BUCKET, SHA, repo=repo)
    bundle = repo / "dist" / "mwaa" / "dags"
    (bundle / "lakehouse_dag.py").unlink()
    (bundle / "new_dag.py").write_text("DAG_ID = 'new'\n")
    pr.publish(s3, BUCKET, "f" * 40, repo=repo)
    dag_keys = keys(s3, pr.DAG_PREFIX)
    assert "mwaa/dags/lakehouse_dag.py" not in dag_keys
    assert "mwaa/dags/new_dag.py" in dag_keys
    # The earlier release stays intact for rollbacks.
    assert f"lakehouse/{SHA}/dags/lakehouse_dag.py" in keys(s3, "lakehouse/")


def test_missing_build_outputs_are_named(repo, s3):
    (repo / "dist" / "lambda_seed.zip").unlink()
    shutil.rmtree(repo / "dist" / "mwaa")
    with pytest.raises(pr.PublishError, match=r"dist/lambda_seed\.zip, dist/mwaa/dags.*lakehouse package"):
        pr.publish(s3, BUCKET, SHA, repo=repo)
    assert keys(s3) == []


def test_only_the_dags_artifacts_bucket_is_accepted(repo, s3):
    with pytest.raises(pr.PublishError, match=r"not the artifacts bucket of conf/orchestration.yaml"):
        pr.publish(s3, "lakehouse-test-123456789012-logs", SHA, repo=repo)
