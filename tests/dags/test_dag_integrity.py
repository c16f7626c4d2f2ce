"""DAG integrity: every DAG file parses, offline, with the house rules, and the task graph is in order."""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

import pytest
import yaml

from tests.dags.harness import DAG_ID, DAGS_DIR, REPO, write_conf

# (upstream, downstream) edges of the emr flow, in order.
EMR_EDGES = [
    ("seed_database", "check_dms_task"),
    ("check_dms_task", "wait_dms_running"),
    ("wait_dms_running", "find_new_raw_files"),
    ("find_new_raw_files", "create_cluster"),
    ("create_cluster", "add_step_bronze"),
    ("add_step_bronze", "watch_step_bronze"),
    ("watch_step_bronze", "add_step_silver"),
    ("add_step_silver", "watch_step_silver"),
    ("watch_step_silver", "add_step_gold"),
    ("add_step_gold", "watch_step_gold"),
    ("watch_step_gold", "crawl_silver"),
    ("watch_step_gold", "crawl_gold"),
    ("crawl_silver", "query_gold"),
    ("crawl_gold", "query_gold"),
    ("query_gold", "check_gold_rows"),
    ("check_gold_rows", "commit_watermark"),
]


@pytest.fixture
def offline(monkeypatch):
    """No AWS and no Variables while DAG files are parsed: any attempt fails the test loudly."""
    import botocore.client
    from airflow.sdk import Variable

    calls: list[str] = []

    def no_api_call(self, operation, params):
        calls.append(operation)
        raise AssertionError(f"AWS call {operation} while parsing the DAG")

    def no_variable(*args, **kwargs):
        calls.append(f"Variable.get{args}")
        raise AssertionError("Variable read while parsing the DAG")

    def no_connect(self, address):
        calls.append(f"connect {address}")
        raise AssertionError(f"network connection to {address} while parsing the DAG")

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", no_api_call)
    monkeypatch.setattr(Variable, "get", no_variable)
    monkeypatch.setattr(socket.socket, "connect", no_connect)
    # Even if something tried, it would find no credentials and an unreachable endpoint.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT", '{"conn_type": "aws", "extra": {"region_name": "us-east-1"}}'
    )
    return calls


def dag_bag(folder: Path):
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=str(folder), bundle_path=folder)


def test_every_dag_file_parses_offline_with_the_house_rules(airflow_home, offline):
    bag = dag_bag(DAGS_DIR)

    assert bag.import_errors == {}
    assert offline == []
    assert list(bag.dags) == [DAG_ID]
    for dag in bag.dags.values():
        assert dag.tags, dag.dag_id
        assert dag.catchup is False
        assert dag.max_active_runs == 1
        assert dag.doc_md and dag.doc_md.strip().startswith("### Lakehouse pipeline")
        assert dag.default_args["retries"] >= 1
        for task in dag.tasks:
            assert task.retries >= 0 and task.owner == "data-platform", task.task_id


def test_the_dag_file_is_thin_and_its_docstring_is_the_doc():
    source = (DAGS_DIR / "lakehouse_pipeline.py").read_text()
    assert re.search(r'^DAG_ID = "lakehouse_pipeline"$', source, re.M)
    assert "boto3" not in source and "Variable.get" not in source
    assert len(source.splitlines()) < 100


def test_emr_task_order(airflow_home, offline):
    dag = dag_bag(DAGS_DIR).dags[DAG_ID]

    for before, after in EMR_EDGES:
        assert before in dag.task_dict[after].upstream_task_ids, (before, after)
    # The DMS branch: start only when needed; the sensor runs either way.
    assert dag.task_dict["check_dms_task"].downstream_task_ids == {"start_dms_task", "wait_dms_running"}
    assert dag.task_dict["wait_dms_running"].trigger_rule == "none_failed_min_one_success"
    # Crawlers wait for the last step, not for the cluster's termination.
    assert dag.task_dict["crawl_silver"].upstream_task_ids == {"watch_step_gold"}
    assert dag.task_dict["crawl_gold"].upstream_task_ids == {"watch_step_gold"}


def test_cluster_is_a_setup_and_always_torn_down(airflow_home, offline):
    dag = dag_bag(DAGS_DIR).dags[DAG_ID]
    create, terminate = dag.task_dict["create_cluster"], dag.task_dict["terminate_cluster"]

    assert create.is_setup and terminate.is_teardown
    assert "create_cluster" in terminate.upstream_task_ids
    assert "watch_step_gold" in terminate.upstream_task_ids
    assert terminate.trigger_rule == "all_done_setup_success"
    assert create.emr_conn_id is None
    # A failed step is final: its sensor does not retry, the run goes red, the teardown still runs.
    for layer in ("bronze", "silver", "gold"):
        assert dag.task_dict[f"watch_step_{layer}"].retries == 0


def test_templates_use_only_declared_deployment_values(airflow_home, offline):
    dag = dag_bag(DAGS_DIR).dags[DAG_ID]
    declared = set(yaml.safe_load((REPO / "conf" / "orchestration.yaml").read_text())["deployment_values"])
    used = set()
    for task in dag.tasks:
        for name in task.template_fields:
            # var.value.NAME is required (a deployment value); var.value.get('NAME', default) is not.
            used |= set(re.findall(r"var\.value\.(?!get\b)(\w+)", str(getattr(task, name, ""))))
    assert used - declared == set()
    assert {"LAKEHOUSE_NAME_PREFIX", "LAKEHOUSE_BUCKET_PREFIX", "LAKEHOUSE_EMR_SUBNET_ID"} <= used
    # Nothing account-specific is baked into the parsed DAG.
    assert not re.search(r"\d{12}", str([getattr(t, n, "") for t in dag.tasks for n in t.template_fields]))


def test_emr_serverless_compute_replaces_the_cluster_tasks(airflow_home, offline, tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    shutil.copytree(REPO / "conf", conf)
    monkeypatch.setenv("LAKEHOUSE_CONF_DIR", str(write_conf(conf, compute="emr_serverless")))

    dag = dag_bag(DAGS_DIR).dags[DAG_ID]

    assert not {"create_cluster", "terminate_cluster"} & set(dag.task_dict)
    assert dag.task_dict["run_bronze"].upstream_task_ids == {"find_new_raw_files"}
    assert dag.task_dict["run_gold"].upstream_task_ids == {"run_silver"}
    assert dag.task_dict["crawl_gold"].upstream_task_ids == {"run_gold"}
    assert offline == []


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"compute": "ec2"}, r"orchestration.yaml: compute: expected one of emr, emr_serverless, got 'ec2'"),
        (
            {"seed": {"function_name": "${UNDECLARED}-seed"}},
            r"seed.function_name: \$\{UNDECLARED\} is not declared",
        ),
        ({"dag": {"sensor_mode": "sometimes"}}, r"dag.sensor_mode: expected one of poke, reschedule"),
        ({"glue": {"crawl_layers": ["platinum"]}}, r"glue.crawl_layers: layer 'platinum' has no entry"),
        (
            {"dag": {"dagrun_timeout_minutes": 60}},
            r"dag.dagrun_timeout_minutes: must exceed 6 x sensor_timeout",
        ),
    ],
)
def test_bad_orchestration_conf_is_an_import_error_naming_the_key(
    airflow_home, offline, tmp_path, monkeypatch, sections, message
):
    conf = tmp_path / "conf"
    shutil.copytree(REPO / "conf", conf)
    monkeypatch.setenv("LAKEHOUSE_CONF_DIR", str(write_conf(conf, **sections)))

    errors = dag_bag(DAGS_DIR).import_errors

    (error,) = errors.values()
    assert re.search(message, error), error
