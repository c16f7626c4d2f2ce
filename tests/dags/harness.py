"""The DAG tests' harness: the project's resources in moto, the API calls the DAG made, dag.test().

- `Cloud`: moto holding what Terraform and CI would create, a reader of the recording of every API
  call the DAG made, and a stand-in for EMR that finishes (or fails) the steps moto would otherwise
  keep RUNNING.
- `run_dag`: one `dag.test()` run of the DAGs bundle, parsed the way the DAG processor parses it.

Airflow is imported lazily, after the `airflow_home` fixture has set AIRFLOW_HOME.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote

import boto3
import requests
import yaml

REPO = Path(__file__).resolve().parents[2]
DAGS_DIR = REPO / "dags"
# moto's EMR ignores the request's signing region behind a custom endpoint and uses us-east-1.
REGION = "us-east-1"
PREFIX = "lh-test"
GLUE_DATABASE_PREFIX = "lh_test"  # what Terraform derives from the name prefix
ARTIFACTS_VERSION = "0123abc"
DAG_ID = "lakehouse_pipeline"

# Sample of the official constraints file (the real one is fetched by CI, not reachable here).
OFFICIAL_CONSTRAINTS_SAMPLE = """\
# This constraints file was automatically generated
apache-airflow-providers-amazon==9.34.0
apache-airflow-providers-common-sql==1.30.0
boto3==1.40.61
"""

# What the tests change in the bundle's conf/orchestration.yaml: seconds instead of minutes.
FAST = {
    "poke_interval_seconds": 1,
    "retry_delay_seconds": 1,
    "sensor_timeout_seconds": 60,
    "dagrun_timeout_minutes": 30,
    "sensor_mode": "poke",
}

# The DAG's helper package, importable by the unit tests as it is on MWAA (dags folder on sys.path).
if str(DAGS_DIR) not in sys.path:
    sys.path.append(str(DAGS_DIR))


def write_conf(conf_dir: Path, **sections) -> Path:
    """Update sections of conf_dir/orchestration.yaml (a dict updates, anything else replaces)."""
    path = conf_dir / "orchestration.yaml"
    data = yaml.safe_load(path.read_text())
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return conf_dir


def load_dag(dags_dir: Path):
    """Parse the bundle the way the DAG processor does (its folder on sys.path)."""
    from airflow.dag_processing.dagbag import BundleDagBag

    bag = BundleDagBag(dag_folder=str(dags_dir), bundle_path=dags_dir)
    assert not bag.import_errors, bag.import_errors
    return bag.dags[DAG_ID]


@dataclass
class Call:
    """One request the moto server received."""

    service: str  # e.g. ElasticMapReduce, AmazonDMSv20160101, lambda, s3, sns
    action: str
    body: dict | str
    url: str


def _parse_recording(path: Path) -> list[Call]:
    calls = []
    for line in path.read_text().splitlines() if path.exists() else []:
        entry = json.loads(line)
        body = entry.get("body") or ""
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode(errors="replace")
        headers = {k.lower(): v for k, v in entry["headers"].items()}
        url = unquote(entry["url"])
        if "x-amz-target" in headers:
            service, action = headers["x-amz-target"].split(".", 1)
            calls.append(Call(service, action, json.loads(body or "{}"), url))
        elif "/functions/" in url and url.endswith("/invocations"):
            calls.append(Call("lambda", "Invoke", json.loads(body or "{}"), url))
        elif body.startswith("Action="):
            form = {k: v[0] for k, v in parse_qs(body).items()}
            calls.append(Call("query", form["Action"], form, url))
        else:
            calls.append(Call("rest", entry["method"], body, url))
    return calls


@dataclass
class Cloud:
    """Moto with the project's resources, and the knobs the DAG tests turn."""

    url: str
    recording: Path
    tables: tuple[str, ...]
    failing_steps: set[str] = field(default_factory=set)  # step names the EMR stand-in fails
    _stop: threading.Event = field(default_factory=threading.Event)

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    @property
    def account(self) -> str:
        from moto.core import DEFAULT_ACCOUNT_ID

        return DEFAULT_ACCOUNT_ID

    def calls(self, service: str | None = None, action: str | None = None) -> list[Call]:
        return [
            c
            for c in _parse_recording(self.recording)
            if (service is None or c.service == service) and (action is None or c.action == action)
        ]

    def put_raw_files(self, name: str) -> list[str]:
        keys = [f"salesdb/{t}/{name}" for t in self.tables]
        s3 = self.client("s3")
        for key in keys:
            s3.put_object(Bucket=f"{PREFIX}-raw", Key=key, Body=b"PAR1")
        return keys

    def watermark(self) -> dict | None:
        try:
            body = self.client("s3").get_object(Bucket=f"{PREFIX}-gold", Key="_ops/dag_watermark.json")
        except self.client("s3").exceptions.NoSuchKey:
            return None
        return json.loads(body["Body"].read())

    def clusters(self) -> list:
        from moto.emr.models import emr_backends

        return list(emr_backends[self.account][REGION].clusters.values())

    def dms_task(self):
        from moto.dms.models import dms_backends

        return next(iter(dms_backends[self.account][REGION].replication_tasks.values()))

    def sns_messages(self) -> list:
        from moto.sns.models import sns_backends

        topic = sns_backends[self.account][REGION].topics[
            f"arn:aws:sns:{REGION}:{self.account}:{PREFIX}-alerts"
        ]
        return list(topic.sent_notifications)

    def seed_athena_count(self, count: int) -> None:
        results = {
            "account_id": self.account,
            "region": REGION,
            "results": [
                {
                    "rows": [
                        {"Data": [{"VarCharValue": "row_count"}]},
                        {"Data": [{"VarCharValue": str(count)}]},
                    ],
                    "column_info": [{"Name": "row_count", "Label": "row_count", "Type": "bigint"}],
                }
            ],
        }
        requests.post(f"{self.url}/moto-api/static/athena/query-results", json=results, timeout=10)

    def run_emr(self) -> None:
        """EMR stand-in: moto keeps steps RUNNING; finish each (FAILED when named in failing_steps)."""
        while not self._stop.wait(0.1):
            for cluster in self.clusters():
                for step in cluster.steps:
                    if step.state == "PENDING" and all(
                        s.state in ("COMPLETED", "FAILED") for s in cluster.steps[: cluster.steps.index(step)]
                    ):
                        step.state = "RUNNING"
                    elif step.state == "RUNNING":
                        step.state = "FAILED" if step.name in self.failing_steps else "COMPLETED"
                        step.end_date_time = datetime.now(UTC)


def lambda_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


def run_dag(dags_dir: Path, **run_conf):
    """One dag.test() run of the bundle's DAG; returns the run and its task states by task id."""
    dag = load_dag(dags_dir)
    started = time.monotonic()
    run = dag.test(run_conf=run_conf or None)
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    logging.getLogger(__name__).info("dag.test took %.1fs: %s", time.monotonic() - started, states)
    return run, states
