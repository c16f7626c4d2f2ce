"""Task factories for the lakehouse DAG: each builds the operators of one part of the flow.

Every AWS call happens inside an operator's or task's execute, never here: building the tasks only
reads the settings. Values that depend on the deployment or the run are Jinja templates.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from airflow.providers.amazon.aws.operators.athena import AthenaOperator
from airflow.providers.amazon.aws.operators.dms import DmsStartTaskOperator
from airflow.providers.amazon.aws.operators.emr import (
    EmrAddStepsOperator,
    EmrCreateJobFlowOperator,
    EmrServerlessStartJobOperator,
    EmrTerminateJobFlowOperator,
)
from airflow.providers.amazon.aws.operators.lambda_function import LambdaInvokeFunctionOperator
from airflow.providers.amazon.aws.sensors.dms import DmsTaskBaseSensor
from airflow.providers.amazon.aws.sensors.emr import EmrStepSensor
from airflow.sdk import TriggerRule, chain, task

from lakehouse_orchestration import decisions, spark
from lakehouse_orchestration.settings import Settings

log = logging.getLogger(__name__)

DMS_CHECK = "check_dms_task"
DMS_START = "start_dms_task"
DMS_WAIT = "wait_dms_running"
DMS_ARN = "{{ ti.xcom_pull(task_ids='" + DMS_CHECK + "', key='replication_task_arn') }}"
# Statuses after which a CDC task will not become "running" by itself.
DMS_DEAD = ["stopped", "failed", "failed-move", "deleting"]


def _sensor_args(s: Settings) -> dict[str, Any]:
    return {
        "poke_interval": s.dag.poke_interval,
        "timeout": s.dag.sensor_timeout,
        "mode": s.dag.sensor_mode,
        "aws_conn_id": s.dag.aws_conn_id,
    }


def seed_database(s: Settings) -> LambdaInvokeFunctionOperator:
    """Invoke the seeding Lambda synchronously: init (schema and data set) or activity."""
    return LambdaInvokeFunctionOperator(
        task_id="seed_database",
        function_name=s.get("seed.function_name"),
        invocation_type=s.get("seed.invocation_type"),
        payload=json.dumps(s.get("seed.payload")),
        # A timed-out synchronous call must not be re-sent by botocore: that would seed twice.
        botocore_config={
            "read_timeout": int(s.get("seed.read_timeout_seconds")),
            "retries": {"total_max_attempts": 1},
        },
        aws_conn_id=s.dag.aws_conn_id,
    )


def ensure_dms_running(s: Settings) -> tuple[Any, DmsTaskBaseSensor]:
    """Look the DMS task up, start or resume it when needed, then wait until it is running.

    A CDC task never completes, so the sensor waits for `running` rather than `stopped`.
    """

    @task.branch(task_id=DMS_CHECK)
    def check_dms_task(replication_task_id: str, aws_conn_id: str, ti=None) -> str:
        from airflow.providers.amazon.aws.hooks.dms import DmsHook

        _, found = DmsHook(aws_conn_id=aws_conn_id).describe_replication_tasks(
            Filters=[{"Name": "replication-task-id", "Values": [replication_task_id]}],
            WithoutSettings=True,
        )
        if not found:
            raise LookupError(
                f"DMS replication task {replication_task_id!r} not found; check dms.replication_task_id "
                "in conf/orchestration.yaml and that Terraform created the task"
            )
        status = found[0]["Status"]
        ti.xcom_push(key="replication_task_arn", value=found[0]["ReplicationTaskArn"])
        start_type = decisions.dms_start_type(replication_task_id, status)
        log.info("DMS task %s is %s; start type %s", replication_task_id, status, start_type)
        if start_type is None:
            return DMS_WAIT
        ti.xcom_push(key="start_type", value=start_type)
        return DMS_START

    check = check_dms_task(
        replication_task_id=s.get("dms.replication_task_id"), aws_conn_id=s.dag.aws_conn_id
    )
    start = DmsStartTaskOperator(
        task_id=DMS_START,
        replication_task_arn=DMS_ARN,
        start_replication_task_type="{{ ti.xcom_pull(task_ids='" + DMS_CHECK + "', key='start_type') }}",
        aws_conn_id=s.dag.aws_conn_id,
    )
    running = DmsTaskBaseSensor(
        task_id=DMS_WAIT,
        replication_task_arn=DMS_ARN,
        target_statuses=["running"],
        termination_statuses=DMS_DEAD,
        trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
        **_sensor_args(s),
    )
    check >> [start, running]
    start >> running
    return check, running


def find_new_raw_files(s: Settings) -> Any:
    """Short-circuit: skip everything downstream when no raw file arrived since the watermark."""

    @task.short_circuit(task_id="find_new_raw_files")
    def find(raw_root: str, prefixes: list[str], watermark_uri: str, aws_conn_id: str, params=None):
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        hook = S3Hook(aws_conn_id=aws_conn_id)
        bucket, root = S3Hook.parse_s3_url(raw_root)
        objects: list[dict] = []
        for prefix in prefixes:
            key_prefix = "/".join(p for p in (root.strip("/"), prefix) if p)
            objects += (
                {"Key": o["Key"], "LastModified": o["LastModified"]}
                for o in hook.iter_file_metadata(prefix=key_prefix, bucket_name=bucket)
            )
        wm_bucket, wm_key = S3Hook.parse_s3_url(watermark_uri)
        text = hook.read_key(wm_key, wm_bucket) if hook.check_for_key(wm_key, wm_bucket) else None
        mark = decisions.Watermark.from_json(text, watermark_uri)
        new = decisions.new_objects(objects, mark)
        log.info(
            "%d raw objects under %s, %d new since %s (e.g. %s)",
            len(objects),
            raw_root,
            len(new),
            mark.last_modified,
            ", ".join(o["Key"] for o in new[:3]),
        )
        if not new and not (params or {}).get("run_without_new_data"):
            log.info("no new raw files: skipping the cluster, the crawlers and the check")
            return None
        return {"new_files": len(new), "watermark": decisions.advance(mark, objects).to_dict()}

    return find(
        raw_root=s.raw_root,
        prefixes=list(s.raw_prefixes),
        watermark_uri=s.watermark_uri,
        aws_conn_id=s.dag.aws_conn_id,
    )


def commit_watermark(s: Settings, found: Any) -> Any:
    """Store the watermark of this run once everything downstream of the new-data check succeeded."""

    @task(task_id="commit_watermark")
    def commit(found: dict, watermark_uri: str, aws_conn_id: str) -> dict:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        bucket, key = S3Hook.parse_s3_url(watermark_uri)
        S3Hook(aws_conn_id=aws_conn_id).load_string(
            json.dumps(found["watermark"]), key=key, bucket_name=bucket, replace=True
        )
        return found["watermark"]

    return commit(found=found, watermark_uri=s.watermark_uri, aws_conn_id=s.dag.aws_conn_id)


def emr_cluster_work(s: Settings) -> tuple[EmrCreateJobFlowOperator, EmrStepSensor]:
    """Transient cluster: create (setup), one step and sensor per layer, terminate (teardown).

    The teardown runs whatever happened to the steps, while the run's state still comes from the
    work tasks: a failed step keeps the run red and the cluster is terminated anyway.
    """
    create = EmrCreateJobFlowOperator(
        task_id="create_cluster",
        job_flow_overrides=spark.job_flow_overrides(s),
        emr_conn_id=None,  # everything comes from the overrides, nothing from an emr_default connection
        aws_conn_id=s.dag.aws_conn_id,
    )
    last: Any = create
    for layer in s.get("spark_job.layers"):
        add = EmrAddStepsOperator(
            task_id=f"add_step_{layer}",
            job_flow_id=create.output,
            steps=[spark.emr_step(s, layer)],
            aws_conn_id=s.dag.aws_conn_id,
        )
        watch = EmrStepSensor(
            task_id=f"watch_step_{layer}",
            job_flow_id=create.output,
            step_id="{{ ti.xcom_pull(task_ids='add_step_" + layer + "')[0] }}",
            retries=0,  # a FAILED step stays failed; the next scheduled run is the retry
            **_sensor_args(s),
        )
        chain(last, add, watch)
        last = watch
    terminate = EmrTerminateJobFlowOperator(
        task_id="terminate_cluster",
        job_flow_id=create.output,
        aws_conn_id=s.dag.aws_conn_id,
    ).as_teardown(setups=create)
    last >> terminate
    return create, last


def emr_serverless_work(s: Settings) -> tuple[Any, Any]:
    """One EMR Serverless job run per layer, each waited for, with the same entry point."""
    runs = [
        EmrServerlessStartJobOperator(
            task_id=f"run_{layer}",
            application_id=s.get("emr_serverless.application_id"),
            execution_role_arn=s.get("emr_serverless.execution_role_arn"),
            job_driver=spark.serverless_job_driver(s, layer),
            configuration_overrides=spark.serverless_configuration_overrides(s),
            name=f"lakehouse-{layer}" + "-{{ run_id }}",
            wait_for_completion=True,
            waiter_delay=s.dag.poke_interval,
            waiter_max_attempts=s.dag.max_attempts,
            retries=0,  # as for EMR steps: the next scheduled run is the retry
            aws_conn_id=s.dag.aws_conn_id,
        )
        for layer in s.get("spark_job.layers")
    ]
    chain(*runs)
    return runs[0], runs[-1]


def crawl_layer(s: Settings, layer: str) -> Any:
    """Start the layer's Glue crawler (or join its running crawl) and wait until it is ready.

    Terraform owns the crawler's definition, so this only starts it (no create-or-update).
    """

    @task(task_id=f"crawl_{layer}")
    def crawl(crawler_name: str, delay: int, max_attempts: int, aws_conn_id: str) -> str:
        from airflow.providers.amazon.aws.hooks.glue_crawler import GlueCrawlerHook
        from botocore.exceptions import ClientError, WaiterError

        hook = GlueCrawlerHook(aws_conn_id=aws_conn_id)
        try:
            hook.start_crawler(crawler_name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "CrawlerRunningException":
                raise
            log.info("crawler %s is already running; waiting for that crawl", crawler_name)
        try:
            hook.get_waiter("crawler_ready").wait(
                Name=crawler_name, WaiterConfig={"Delay": delay, "MaxAttempts": max_attempts}
            )
        except WaiterError:
            last = hook.get_crawler(crawler_name).get("LastCrawl") or {}
            raise RuntimeError(
                f"Glue crawler {crawler_name} ended {last.get('Status')}: {last.get('ErrorMessage', '')}"
            ) from None
        return (hook.get_crawler(crawler_name).get("LastCrawl") or {}).get("Status", "")

    return crawl(
        crawler_name=s.crawler_name(layer),
        delay=s.dag.poke_interval,
        max_attempts=s.dag.max_attempts,
        aws_conn_id=s.dag.aws_conn_id,
    )


def check_gold(s: Settings) -> tuple[AthenaOperator, Any]:
    """Run the Athena check query on gold and require at least check_min_rows."""
    query = AthenaOperator(
        task_id="query_gold",
        query=s.get("athena.check_query"),
        database=s.get("glue.databases.gold"),
        output_location=s.get("athena.output_location"),
        workgroup=s.get("athena.workgroup"),
        sleep_time=s.dag.poke_interval,
        max_polling_attempts=s.dag.max_attempts,
        aws_conn_id=s.dag.aws_conn_id,
    )

    @task(task_id="check_gold_rows")
    def check(query_execution_id: str, query: str, min_rows: int, aws_conn_id: str) -> int:
        from airflow.providers.amazon.aws.hooks.athena import AthenaHook

        result = AthenaHook(aws_conn_id=aws_conn_id).get_query_results(query_execution_id)
        if result is None:
            raise RuntimeError(f"Athena query {query_execution_id} has no results: {query}")
        count = decisions.first_count(result["ResultSet"], query)
        if count < min_rows:
            raise ValueError(f"Athena check found {count} rows, expected at least {min_rows}: {query}")
        log.info("Athena check: %d rows (%s)", count, query)
        return count

    verify = check(
        query_execution_id=query.output,
        query=s.get("athena.check_query"),
        min_rows=int(s.get("athena.check_min_rows")),
        aws_conn_id=s.dag.aws_conn_id,
    )
    return query, verify
