"""The MWAA execution role grants what the DAG calls, each action on the resources it names.

The role's policy document (terraform/modules/mwaa/main.tf) is read statement by statement; the
DAG's calls are listed here with the task that makes them. tests/dags/test_dag_runs.py checks the
other direction: every AWS call a whole DAG run made is an action granted here.
"""

from __future__ import annotations

import pytest

from tests.terraform.tfhelpers import MODULES, TF, blocks, parse

# Action -> (the resources it must be scoped to, exactly; the DAG task that calls it).
DAG_CALLS = {
    "lambda:InvokeFunction": (["${local.o.lambda_function_arn}"], "seed_database"),
    "dms:DescribeReplicationTasks": (["*"], "check_dms_task"),
    "dms:StartReplicationTask": (["${local.o.dms_replication_task_arn}"], "start_dms_task"),
    "elasticmapreduce:RunJobFlow": (["*"], "create_cluster"),
    "elasticmapreduce:AddTags": (["*"], "create_cluster (the request's tags)"),
    "elasticmapreduce:AddJobFlowSteps": (["${local.cluster_arns}"], "add_step_<layer>"),
    "elasticmapreduce:DescribeStep": (["${local.cluster_arns}"], "watch_step_<layer>"),
    "elasticmapreduce:DescribeCluster": (["${local.cluster_arns}"], "create_cluster's waiter"),
    "elasticmapreduce:TerminateJobFlows": (["${local.cluster_arns}"], "terminate_cluster"),
    "iam:PassRole": ("${local.o.emr_role_arns}", "create_cluster (ServiceRole, JobFlowRole)"),
    "glue:StartCrawler": ("${local.crawler_arns}", "crawl_<layer>"),
    "glue:GetCrawler": ("${local.crawler_arns}", "crawl_<layer>"),
    "athena:StartQueryExecution": (["${local.workgroup_arn}"], "query_gold"),
    "athena:GetQueryExecution": (["${local.workgroup_arn}"], "query_gold"),
    "athena:GetQueryResults": (["${local.workgroup_arn}"], "check_gold_rows"),
    "s3:ListBucket": None,  # several buckets, checked below
    "sns:Publish": (["${local.o.alerts_topic_arn}"], "on_failure_callback"),
    "secretsmanager:GetSecretValue": (["${local.variables_arn}"], "every ${NAME} Variable"),
}
# Actions without resource-level permissions: the only ones allowed on "*".
UNSCOPED = {
    "logs:DescribeLogGroups",
    "cloudwatch:PutMetricData",
    "s3:GetAccountPublicAccessBlock",
    "dms:DescribeReplicationTasks",
    "elasticmapreduce:RunJobFlow",
    "elasticmapreduce:AddTags",
    "lakeformation:GetDataAccess",
}


def _document() -> dict:
    found = {(t, n): b for t, n, b in blocks(MODULES / "mwaa" / "main.tf", "data")}
    return found[("aws_iam_policy_document", "this")]


def statements() -> list[dict]:
    """Every statement of the execution role, the dynamic (EMR Serverless) ones included."""
    doc = _document()
    out = list(doc["statement"])
    for dyn in doc.get("dynamic", []):
        out += dyn["statement"]["content"]
    return out


def granted_actions() -> set[str]:
    return {a for s in statements() if s.get("effect", "Allow") == "Allow" for a in s["actions"]}


def _statements_with(action: str) -> list[dict]:
    return [s for s in statements() if action in s["actions"]]


def _locals() -> dict:
    merged: dict = {}
    for block in parse(MODULES / "mwaa" / "main.tf")["locals"]:
        merged.update(block)
    return merged


@pytest.mark.parametrize("action", sorted(a for a, v in DAG_CALLS.items() if v), ids=str)
def test_every_call_of_the_dag_is_granted_on_its_resource_only(action):
    resources, task = DAG_CALLS[action]
    # The static statements (compute emr); the EMR Serverless ones are checked below.
    found = [s for s in _document()["statement"] if action in s["actions"]]
    assert len(found) == 1, f"{action} ({task}) must be granted by exactly one statement, got {len(found)}"
    assert found[0]["resources"] == resources, f"{action} ({task})"


def test_scoped_resources_are_the_dags_resources():
    loc = _locals()
    assert loc["crawler_arns"] == '${[for c in local.o.crawler_names : "${local.glue_arn}:crawler/${c}"]}'
    assert loc["workgroup_arn"].endswith(":workgroup/${local.o.athena_workgroup_name}")
    assert loc["cluster_arns"].endswith(":cluster/*")
    assert loc["variables_arn"].endswith(":secret:${var.variables_prefix}/*")


def test_the_raw_zone_is_listed_and_only_the_watermark_is_written_in_the_lake():
    listing = [s["resources"] for s in _statements_with("s3:ListBucket")]
    assert "${distinct([local.o.raw_bucket_arn, local.o.watermark_bucket_arn])}" in listing
    writes = [s["resources"] for s in _statements_with("s3:PutObject")]
    assert sorted(writes) == sorted(
        [
            ["${local.o.athena_results.bucket_arn}/${local.o.athena_results.prefix}*"],
            ["${local.o.watermark_object_arn}"],
        ]
    )


def test_only_actions_without_resource_level_permissions_use_a_wildcard_resource():
    for s in statements():
        if s.get("resources") == ["*"]:
            assert set(s["actions"]) <= UNSCOPED, s["sid"]
        assert not any(a == "*" or a.endswith(":*") for a in s["actions"]), s["sid"]


def test_clusters_are_created_and_driven_only_with_the_dags_tags():
    for sid, key in (("CreateTransientClusters", "aws:RequestTag"), ("DriveClusters", "aws:ResourceTag")):
        (s,) = [s for s in statements() if s["sid"] == sid]
        (dyn,) = s["dynamic"]
        # One condition per tag of emr.tags in conf/orchestration.yaml, which the DAG sends.
        assert dyn["condition"]["for_each"] == "${local.o.emr_cluster_tags}", sid
        (cond,) = dyn["condition"]["content"]
        assert cond == {
            "test": "StringEquals",
            "variable": key + "/${condition.key}",
            "values": ["${condition.value}"],
        }, sid


def test_roles_are_passed_only_to_their_services():
    for s in _statements_with("iam:PassRole"):
        (cond,) = s["condition"]
        assert cond["variable"] == "iam:PassedToService"
        assert set(cond["values"]) <= {
            "elasticmapreduce.amazonaws.com",
            "ec2.amazonaws.com",
            "emr-serverless.amazonaws.com",
        }


def test_emr_serverless_job_runs_are_granted_on_the_application_when_there_is_one():
    (run,) = _statements_with("emr-serverless:StartJobRun")
    assert {"emr-serverless:GetJobRun", "emr-serverless:CancelJobRun"} <= set(run["actions"])
    assert run["resources"] == [
        "${statement.value.application_arn}",
        "${statement.value.application_arn}/jobruns/*",
    ]


def test_the_root_passes_the_dags_resources_to_the_role():
    module = next(m["mwaa"] for m in parse(TF / "main.tf")["module"] if "mwaa" in m)
    o = module["orchestration"]
    assert o["crawler_names"] == "${local.dag_crawler_names}"
    assert o["emr_role_arns"] == ["${module.emr.service_role_arn}", "${module.emr.instance_role_arn}"]
    assert o["emr_cluster_tags"] == "${local.dag_names.emr_cluster_tags}"
    assert o["alerts_topic_arn"] == "${module.monitoring.topic_arn}"
    assert o["raw_bucket_arn"] == '${module.storage.bucket_arns["raw"]}'
    assert "local.dag_locations.watermark_uri" in o["watermark_object_arn"]
    assert module["airflow_variables"] == "${local.airflow_variables}"


def test_the_serverless_application_and_role_exist_only_for_that_compute():
    module = next(m["emr"] for m in parse(TF / "main.tf")["module"] if "emr" in m)
    assert module["serverless"].startswith("${local.serverless ? {")
    mwaa = next(m["mwaa"] for m in parse(TF / "main.tf")["module"] if "mwaa" in m)
    assert "module.emr.serverless_application_arn" in mwaa["orchestration"]["emr_serverless"]
    found = {(t, n): b for t, n, b in blocks(MODULES / "emr" / "main.tf", "resource")}
    for key in (
        ("aws_emrserverless_application", "this"),
        ("aws_iam_role", "serverless"),
        ("aws_iam_role_policy", "serverless"),
    ):
        assert found[key]["count"] == "${var.serverless == null ? 0 : 1}", key


def test_airflow_reads_the_variables_from_the_secrets_terraform_writes():
    env = {(t, n): b for t, n, b in blocks(MODULES / "mwaa" / "main.tf", "resource")}
    options = env[("aws_mwaa_environment", "this")]["airflow_configuration_options"]
    assert options["secrets.backend"] == (
        "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
    )
    kwargs = options["secrets.backend_kwargs"]
    assert "variables_prefix = var.variables_prefix" in kwargs and "connections_prefix = null" in kwargs
    secret = env[("aws_secretsmanager_secret", "this")]
    assert secret["name"] == "${var.variables_prefix}/${each.key}"
    assert secret["kms_key_id"] == "${local.o.kms_key_arn}"
    version = env[("aws_secretsmanager_secret_version", "this")]
    assert "secret_string" not in version  # write-only: values never enter the state
    assert version["secret_string_wo"] == "${var.airflow_variables[each.key]}"
