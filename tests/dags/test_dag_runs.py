"""Whole DAG runs (`dag.test()`) against moto: the API calls the DAG really makes, in order."""

from __future__ import annotations

import json
import shutil

import pytest

from lambda_seed.events import parse_event
from tests.dags.harness import ARTIFACTS_VERSION, GLUE_DATABASE_PREFIX, PREFIX, run_dag, write_conf

pytestmark = pytest.mark.slow

SUCCESS, FAILED, SKIPPED = "success", "failed", "skipped"


# Recorded service (harness.Call.service) -> IAM service prefix.
IAM_PREFIX = {
    "ElasticMapReduce": "elasticmapreduce",
    "AWSGlue": "glue",
    "AmazonAthena": "athena",
    "AmazonDMSv20160101": "dms",
    "query": "sns",
}


def assert_granted_to_mwaa(cloud) -> None:
    """Every AWS call of the run is an action the MWAA execution role (Terraform) grants."""
    from tests.terraform.test_mwaa_role import granted_actions

    granted = granted_actions()
    made = {
        "lambda:InvokeFunction" if c.service == "lambda" else f"{IAM_PREFIX[c.service]}:{c.action}"
        for c in cloud.calls()
        if c.service != "rest"  # S3's REST calls: tests/terraform/test_mwaa_role.py scopes them
    }
    assert made, "no AWS call recorded"
    assert made <= granted, f"the DAG calls what the execution role does not grant: {made - granted}"


def _artifact(name: str) -> str:
    return f"s3://{PREFIX}-artifacts/lakehouse/{ARTIFACTS_VERSION}/{name}"


def test_first_run_seeds_starts_dms_runs_every_layer_and_terminates(airflow_db, cloud):
    raw_keys = cloud.put_raw_files("LOAD00000001.parquet")
    cloud.seed_athena_count(42)

    run, states = run_dag(airflow_db, seed_mode="init")

    assert run.state == SUCCESS, states
    # The Lambda got the init event.
    (invoke,) = cloud.calls("lambda", "Invoke")
    assert invoke.body["mode"] == "init"
    assert parse_event(invoke.body).mode == "init"  # the Lambda's own validation accepts it
    assert f"/functions/{PREFIX}-seed/" in invoke.url
    # DMS: never started, so start-replication, and the run waited until it was running.
    (start,) = cloud.calls("AmazonDMSv20160101", "StartReplicationTask")
    assert start.body["StartReplicationTaskType"] == "start-replication"
    assert cloud.dms_task().status == "running"

    # One cluster, with the release, configurations, policy and names from conf/orchestration.yaml.
    (run_job_flow,) = cloud.calls("ElasticMapReduce", "RunJobFlow")
    request = run_job_flow.body
    assert request["ReleaseLabel"] == "emr-7.13.0"
    assert request["AutoTerminationPolicy"] == {"IdleTimeout": 1800}
    assert request["ServiceRole"] == f"{PREFIX}-emr-service"
    assert request["JobFlowRole"] == f"{PREFIX}-emr-ec2"
    assert request["SecurityConfiguration"] == f"{PREFIX}-emr"
    assert request["LogUri"] == f"s3://{PREFIX}-logs/emr/"
    assert request["Instances"]["Ec2SubnetId"] == "subnet-0123456789abcdef0"
    assert request["Instances"]["EmrManagedMasterSecurityGroup"] == "sg-0000000000000000a"
    assert request["Instances"]["EmrManagedSlaveSecurityGroup"] == "sg-0000000000000000b"
    assert request["Instances"]["ServiceAccessSecurityGroup"] == "sg-0000000000000000c"
    assert request["Instances"]["KeepJobFlowAliveWhenNoSteps"] is True
    groups = {g["InstanceRole"]: g for g in request["Instances"]["InstanceGroups"]}
    assert groups["TASK"]["Market"] == "SPOT" and groups["CORE"]["Market"] == "ON_DEMAND"
    (cluster,) = cloud.clusters()
    assert cluster.release_label == "emr-7.13.0"
    configurations = {c["Classification"]: c for c in cluster.configurations}
    assert configurations["delta-defaults"]["Properties"] == {"delta.enabled": "true"}
    assert configurations["spark-hive-site"]["Properties"]["hive.metastore.client.factory.class"] == (
        "com.amazonaws.glue.catalog.metastore.AWSGlueDataCatalogHiveClientFactory"
    )
    assert [a.name for a in cluster.applications] == ["Spark"]

    # One spark-submit step per layer, in order, on the uploaded artifacts.
    steps = [s for c in cloud.calls("ElasticMapReduce", "AddJobFlowSteps") for s in c.body["Steps"]]
    assert [s["Name"] for s in steps] == ["lakehouse-bronze", "lakehouse-silver", "lakehouse-gold"]
    artifacts = {
        o["Key"] for o in cloud.client("s3").list_objects_v2(Bucket=f"{PREFIX}-artifacts")["Contents"]
    }
    for step, layer in zip(steps, ["bronze", "silver", "gold"], strict=True):
        args = step["HadoopJarStep"]["Args"]
        assert step["HadoopJarStep"]["Jar"] == "command-runner.jar"
        assert args[:3] == ["spark-submit", "--deploy-mode", "cluster"]
        assert args[args.index("--py-files") + 1].split(",")[0] == _artifact("spark_jobs.zip")
        assert args[args.index("--archives") + 1] == _artifact("conf.zip") + "#conf"
        assert f"spark.yarn.appMasterEnv.LAKEHOUSE_BUCKET_PREFIX={PREFIX}" in args
        entry = args.index(_artifact("main.py"))
        assert args[entry + 1 : entry + 7] == ["--env", "aws", "--layers", layer, "--conf-dir", "conf"]
        assert args[entry + 8] == run.run_id  # --run-id ties the Spark run log to this DAG run
        for uri in (_artifact("spark_jobs.zip"), _artifact("conf.zip"), _artifact("main.py")):
            assert uri.split(f"{PREFIX}-artifacts/", 1)[1] in artifacts

    # Terminated, crawled, checked, and the watermark now covers the raw files.
    assert len(cloud.calls("ElasticMapReduce", "TerminateJobFlows")) == 1
    assert cluster.state == "TERMINATED"
    crawled = [c.body["Name"] for c in cloud.calls("AWSGlue", "StartCrawler")]
    assert sorted(crawled) == [f"{PREFIX}-gold", f"{PREFIX}-silver"]
    (query,) = cloud.calls("AmazonAthena", "StartQueryExecution")
    assert query.body["QueryString"] == "SELECT count(*) AS row_count FROM fact_sales"
    assert query.body["QueryExecutionContext"]["Database"] == f"{GLUE_DATABASE_PREFIX}_gold"
    assert query.body["WorkGroup"] == f"{PREFIX}-analytics"
    assert query.body["ResultConfiguration"]["OutputLocation"] == f"s3://{PREFIX}-athena-results/results/"
    assert states["check_gold_rows"] == SUCCESS
    assert set(cloud.watermark()["keys_at_last_modified"]) <= set(raw_keys)
    assert cloud.sns_messages() == []
    assert_granted_to_mwaa(cloud)


def test_later_runs_resume_dms_and_skip_the_cluster_without_new_files(airflow_db, cloud):
    cloud.put_raw_files("LOAD00000001.parquet")
    cloud.seed_athena_count(42)
    first, _ = run_dag(airflow_db, seed_mode="init")
    assert first.state == SUCCESS
    mark = cloud.watermark()
    cloud.dms_task().status = "stopped"  # e.g. stopped by hand, or by a maintenance

    second, states = run_dag(airflow_db)

    assert second.state == SUCCESS, states
    events = [parse_event(c.body) for c in cloud.calls("lambda", "Invoke")]
    assert [(e.mode, e.period) for e in events] == [("init", None), ("activity", None)]  # None: next
    starts = [
        c.body["StartReplicationTaskType"] for c in cloud.calls("AmazonDMSv20160101", "StartReplicationTask")
    ]
    assert starts == ["start-replication", "resume-processing"]
    assert states["find_new_raw_files"] == SUCCESS
    for task_id in (
        "create_cluster",
        "add_step_bronze",
        "terminate_cluster",
        "crawl_gold",
        "commit_watermark",
    ):
        assert states[task_id] == SKIPPED, task_id
    assert len(cloud.calls("ElasticMapReduce", "RunJobFlow")) == 1
    assert cloud.watermark() == mark

    # A new CDC file makes the next run start a cluster again.
    cloud.put_raw_files("20261123-010203004.parquet")
    cloud.seed_athena_count(43)
    third, states = run_dag(airflow_db)
    assert third.state == SUCCESS, states
    assert len(cloud.calls("ElasticMapReduce", "RunJobFlow")) == 2
    assert len(cloud.calls("AmazonDMSv20160101", "StartReplicationTask")) == 2  # it was running
    assert cloud.watermark()["keys_at_last_modified"] != mark["keys_at_last_modified"]


def test_failed_step_fails_the_run_and_still_terminates_the_cluster(airflow_db, cloud):
    cloud.put_raw_files("LOAD00000001.parquet")
    cloud.failing_steps.add("lakehouse-silver")

    run, states = run_dag(airflow_db, seed_mode="init", artifacts_version="feature-x")

    assert run.state == FAILED
    assert states["watch_step_bronze"] == SUCCESS
    assert states["watch_step_silver"] == FAILED
    assert states["add_step_gold"] == "upstream_failed"
    assert states["terminate_cluster"] == SUCCESS
    (cluster,) = cloud.clusters()
    assert cluster.state == "TERMINATED"
    assert len(cloud.calls("ElasticMapReduce", "TerminateJobFlows")) == 1
    # The run param chose the artifacts, not the deployed version.
    steps = [s for c in cloud.calls("ElasticMapReduce", "AddJobFlowSteps") for s in c.body["Steps"]]
    assert f"s3://{PREFIX}-artifacts/lakehouse/feature-x/main.py" in steps[0]["HadoopJarStep"]["Args"]
    # Nothing downstream ran, the watermark did not move, the alert went out.
    assert cloud.calls("AWSGlue", "StartCrawler") == []
    assert cloud.watermark() is None
    (alert,) = cloud.sns_messages()
    assert run.run_id in alert[1] and "watch_step_silver" in alert[1]
    assert_granted_to_mwaa(cloud)  # sns:Publish included


def test_emr_serverless_runs_one_job_per_layer_instead_of_a_cluster(airflow_db, cloud, tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    shutil.copytree(airflow_db / "conf", conf)
    monkeypatch.setenv("LAKEHOUSE_CONF_DIR", str(write_conf(conf, compute="emr_serverless")))
    cloud.put_raw_files("LOAD00000001.parquet")
    cloud.seed_athena_count(42)

    run, states = run_dag(airflow_db)

    assert run.state == SUCCESS, states
    assert cloud.calls("ElasticMapReduce") == []
    application = cloud.client("emr-serverless").list_applications()["applications"][0]["id"]
    jobs = [c for c in cloud.calls("rest", "POST") if c.url.endswith(f"/applications/{application}/jobruns")]
    bodies = [json.loads(j.body) for j in jobs]
    layers = [b["jobDriver"]["sparkSubmit"]["entryPointArguments"][3] for b in bodies]
    assert layers == ["bronze", "silver", "gold"]
    for body in bodies:
        submit = body["jobDriver"]["sparkSubmit"]
        assert submit["entryPoint"] == _artifact("main.py")
        assert submit["entryPointArguments"][:6] == [
            "--env",
            "aws",
            "--layers",
            submit["entryPointArguments"][3],
            "--conf-dir",
            "conf",
        ]
        parameters = submit["sparkSubmitParameters"]
        assert f"--py-files {_artifact('spark_jobs.zip')}," in parameters
        assert f"--archives {_artifact('conf.zip')}#conf" in parameters
        assert f"spark.emr-serverless.driverEnv.LAKEHOUSE_BUCKET_PREFIX={PREFIX}" in parameters
        assert body["executionRoleArn"].endswith(f"role/{PREFIX}-seed")
        assert body["configurationOverrides"]["monitoringConfiguration"]["s3MonitoringConfiguration"] == {
            "logUri": f"s3://{PREFIX}-logs/emr-serverless/"
        }
    assert states["check_gold_rows"] == SUCCESS
