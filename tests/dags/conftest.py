"""Fixtures for the DAG tests.

- `airflow_home`: an isolated Airflow home whose dags folder is the MWAA bundle `lakehouse package`
  builds, with its conf/ tuned for speed (seconds, poke sensors). Returns the dags folder.
- `airflow_db`: its sqlite metadata database (`airflow db migrate`), which dag.test() needs.
- `moto_url`: moto's server in this process on 127.0.0.1, standing in for every AWS API.
- `cloud`: per test, a fresh moto with the project's resources and Airflow's AWS connection and
  Variables pointing at it (see harness.Cloud).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from tests.dags.harness import (
    ARTIFACTS_VERSION,
    FAST,
    GLUE_DATABASE_PREFIX,
    OFFICIAL_CONSTRAINTS_SAMPLE,
    PREFIX,
    REGION,
    REPO,
    Cloud,
    lambda_zip,
    write_conf,
)


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory) -> Path:
    """AIRFLOW_HOME and a dags folder holding the MWAA bundle, for the session; returns the folder."""
    from local_aws.commands.package import build_mwaa_bundle

    root = tmp_path_factory.mktemp("airflow")
    sample = root / "constraints-official.txt"
    sample.write_text(OFFICIAL_CONSTRAINTS_SAMPLE)
    build_mwaa_bundle(root / "mwaa", str(sample))
    dags = root / "mwaa" / "dags"
    write_conf(dags / "conf", dag=FAST)
    (root / "home").mkdir()
    env = {
        "AIRFLOW_HOME": str(root / "home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{root / 'home' / 'airflow.db'}",
        # The developer's own AWS settings never leak into the tests.
        "AWS_CONFIG_FILE": str(root / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(root / "no-aws-credentials"),
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        for key in ("LAKEHOUSE_CONF_DIR", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            mp.delenv(key, raising=False)
        yield dags


@pytest.fixture(scope="session")
def airflow_db(airflow_home) -> Path:
    """The sqlite metadata database dag.test() needs (`airflow db migrate`, a few seconds)."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        env=os.environ.copy(),
        capture_output=True,
        timeout=300,
    )
    return airflow_home


@pytest.fixture(scope="session")
def moto_url() -> str:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def cloud(moto_url, airflow_db, tmp_path, monkeypatch) -> Cloud:
    """A fresh moto holding what Terraform and CI create, and Airflow pointed at it."""
    from moto.moto_api import recorder, state_manager

    from local_aws.commands.package import build_emr_artifacts
    from spark_jobs.config import load_tables

    requests.post(f"{moto_url}/moto-api/reset", timeout=10)
    # Lambda without Docker: moto's simple backend answers every invocation with its payload.
    requests.post(f"{moto_url}/moto-api/config", json={"lambda": {"use_docker": False}}, timeout=10)
    state_manager.set_transition("glue::crawl", {"progression": "immediate"})
    _, tables = load_tables(REPO / "conf")
    c = Cloud(url=moto_url, recording=tmp_path / "recording.jsonl", tables=tuple(tables))

    s3 = c.client("s3")
    for suffix in ("raw", "gold", "artifacts", "logs", "athena-results"):
        s3.create_bucket(Bucket=f"{PREFIX}-{suffix}")
    for path in build_emr_artifacts(tmp_path / "emr"):
        s3.upload_file(str(path), f"{PREFIX}-artifacts", f"lakehouse/{ARTIFACTS_VERSION}/{path.name}")

    role = c.client("iam").create_role(RoleName=f"{PREFIX}-seed", AssumeRolePolicyDocument="{}")["Role"][
        "Arn"
    ]
    c.client("lambda").create_function(
        FunctionName=f"{PREFIX}-seed",
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": lambda_zip()},
    )
    c.client("dms").create_replication_task(
        ReplicationTaskIdentifier=f"{PREFIX}-cdc",
        SourceEndpointArn=f"arn:aws:dms:{REGION}:{c.account}:endpoint:SOURCE",
        TargetEndpointArn=f"arn:aws:dms:{REGION}:{c.account}:endpoint:TARGET",
        ReplicationInstanceArn=f"arn:aws:dms:{REGION}:{c.account}:rep:INSTANCE",
        MigrationType="full-load-and-cdc",
        TableMappings="{}",
    )
    c.dms_task().ready()  # what Terraform leaves behind: created, never started
    glue = c.client("glue")
    for layer in ("silver", "gold"):
        glue.create_crawler(
            Name=f"{PREFIX}-{layer}",
            Role=role,
            DatabaseName=f"{GLUE_DATABASE_PREFIX}_{layer}",
            Targets={
                "DeltaTargets": [
                    {"DeltaTables": [f"s3://{PREFIX}-{layer}/x/"], "CreateNativeDeltaTable": True}
                ]
            },
        )
    c.client("athena").create_work_group(
        Name=f"{PREFIX}-analytics",
        Configuration={"ResultConfiguration": {"OutputLocation": f"s3://{PREFIX}-athena-results/"}},
    )
    topic = c.client("sns").create_topic(Name=f"{PREFIX}-alerts")["TopicArn"]
    app = c.client("emr-serverless").create_application(name=PREFIX, releaseLabel="emr-7.13.0", type="SPARK")

    connection = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {
            "endpoint_url": moto_url,
            "region_name": REGION,
            "config_kwargs": {"s3": {"addressing_style": "path"}},
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
    variables = {
        "LAKEHOUSE_NAME_PREFIX": PREFIX,
        "LAKEHOUSE_BUCKET_PREFIX": PREFIX,
        "LAKEHOUSE_GLUE_DATABASE_PREFIX": GLUE_DATABASE_PREFIX,
        "LAKEHOUSE_EMR_SUBNET_ID": "subnet-0123456789abcdef0",
        "LAKEHOUSE_EMR_PRIMARY_SG_ID": "sg-0000000000000000a",
        "LAKEHOUSE_EMR_CORE_SG_ID": "sg-0000000000000000b",
        "LAKEHOUSE_EMR_SERVICE_ACCESS_SG_ID": "sg-0000000000000000c",
        "LAKEHOUSE_ALERTS_TOPIC_ARN": topic,
        "LAKEHOUSE_EMR_SERVERLESS_APPLICATION_ID": app["applicationId"],
        "LAKEHOUSE_EMR_SERVERLESS_ROLE_ARN": role,
        "LAKEHOUSE_ARTIFACTS_VERSION": ARTIFACTS_VERSION,
    }
    for name, value in variables.items():
        monkeypatch.setenv(f"AIRFLOW_VAR_{name}", value)

    monkeypatch.setattr(recorder, "_location", str(c.recording))
    recorder.start_recording()
    emr = threading.Thread(target=c.run_emr, name="emr-stand-in", daemon=True)
    emr.start()
    yield c
    c._stop.set()
    emr.join(timeout=5)
    recorder.stop_recording()
    state_manager.unset_transition("glue::crawl")
    requests.post(f"{moto_url}/moto-api/config", json={"lambda": {"use_docker": True}}, timeout=10)
