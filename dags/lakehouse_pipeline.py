"""
### Lakehouse pipeline

Seeds the source database, keeps DMS replicating into the raw zone, and promotes new raw files
bronze -> silver -> gold with Spark, then refreshes the Glue catalog and checks gold with Athena.

1. `seed_database` invokes the seeding Lambda (param `seed_mode`: `init` on the first run, then
   `activity`).
2. `check_dms_task` starts (`start-replication`) or resumes (`resume-processing`) the DMS CDC task
   when it is not running; `wait_dms_running` waits for `running` (a CDC task never completes).
3. `find_new_raw_files` skips the rest of the run when no raw file arrived since the watermark of
   the last successful run (`<ops>/dag_watermark.json`), so frequent runs cost nothing.
4. Spark, by `compute` in `conf/orchestration.yaml`:
   - `emr`: `create_cluster` (setup) starts a transient emr-7.13.0 cluster, `add_step_<layer>` and
     `watch_step_<layer>` run `spark_jobs/main.py --layers <layer>` for bronze, silver, gold, and
     `terminate_cluster` (teardown) always terminates it; a failed step still fails the run.
   - `emr_serverless`: `run_<layer>` runs the same entry point as an EMR Serverless job.
5. `crawl_<layer>` runs the Glue crawlers, `query_gold` and `check_gold_rows` check gold in Athena,
   `commit_watermark` records what this run processed.

A failed run publishes a message to the alerts SNS topic. Configuration: `conf/orchestration.yaml`
(names, sizes, timings) and Airflow Variables for deployment values (`${NAME}` there).
"""

from __future__ import annotations

from pathlib import Path

from airflow.sdk import DAG, Param, chain
from lakehouse_orchestration import settings, tasks
from lakehouse_orchestration.alerts import FailureAlert

DAG_ID = "lakehouse_pipeline"

S = settings.load(Path(__file__).resolve().parent)

with DAG(
    dag_id=DAG_ID,
    doc_md=__doc__,
    schedule=S.dag.schedule,
    start_date=S.dag.start_date,
    catchup=False,
    max_active_runs=S.dag.max_active_runs,
    dagrun_timeout=S.dag.dagrun_timeout,
    tags=list(S.dag.tags),
    default_args={"owner": S.dag.owner, "retries": S.dag.retries, "retry_delay": S.dag.retry_delay},
    params={
        "seed_mode": Param("activity", enum=["init", "activity"], description="init on the first run"),
        "period": Param("", type="string", description="activity batch id; empty: the run's time"),
        "artifacts_version": Param(
            "", type="string", description="artifact folder (git sha); empty: LAKEHOUSE_ARTIFACTS_VERSION"
        ),
        "run_without_new_data": Param(False, type="boolean", description="run Spark even without new files"),
    },
    on_failure_callback=FailureAlert(S.get("alerts.sns_topic_arn"), S.dag.aws_conn_id),
) as dag:
    seed = tasks.seed_database(S)
    dms_check, dms_running = tasks.ensure_dms_running(S)
    found = tasks.find_new_raw_files(S)
    if S.compute == "emr":
        spark_first, spark_last = tasks.emr_cluster_work(S)
    else:
        spark_first, spark_last = tasks.emr_serverless_work(S)
    crawls = [tasks.crawl_layer(S, layer) for layer in S.get("glue.crawl_layers")]
    query, verified = tasks.check_gold(S)
    committed = tasks.commit_watermark(S, found)

    chain(seed, dms_check)
    chain(dms_running, found, spark_first)
    chain(spark_last, crawls, query, verified, committed)
