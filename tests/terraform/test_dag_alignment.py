"""The DAG and Terraform agree on every AWS name, because both read conf/orchestration.yaml.

terraform/conf.tf is evaluated by Terraform itself (as in test_tf_conf_eval.py) for one name
prefix, and the DAG's Settings are loaded from the same conf/ folder and rendered with the Airflow
Variables Terraform stores for that deployment. Every name the DAG sends to an AWS API must be the
name Terraform gave the resource.
"""

from __future__ import annotations

import importlib
import re

import jinja2
import pytest

from tests.dags.harness import DAGS_DIR  # puts the DAG's helper package on sys.path
from tests.terraform.tfhelpers import CONF, TF, evaluate_conf, parse

# The DAG's helper package, importable once the harness has put the dags folder on sys.path.
settings = importlib.import_module("lakehouse_orchestration.settings")
spark = importlib.import_module("lakehouse_orchestration.spark")

NAME_PREFIX = "lakehouse-test"
BUCKET_PREFIX = "lakehouse-test-123456789012"
VERSION = "0123456789abcdef0123456789abcdef01234567"
GOLD = "models:\n  dim_date:\n    grain: [date_key]\n  fact_sales:\n    grain: [sale_id]\n"
# Deployment values that are attributes of created resources, not names (main.tf supplies them).
RESOURCE_VALUES = {
    "LAKEHOUSE_EMR_SUBNET_ID": "subnet-0123456789abcdef0",
    "LAKEHOUSE_EMR_PRIMARY_SG_ID": "sg-0000000000000000a",
    "LAKEHOUSE_EMR_CORE_SG_ID": "sg-0000000000000000b",
    "LAKEHOUSE_EMR_SERVICE_ACCESS_SG_ID": "sg-0000000000000000c",
    "LAKEHOUSE_ALERTS_TOPIC_ARN": f"arn:aws:sns:eu-west-1:123456789012:{NAME_PREFIX}-alarms",
}


class _Values:
    """`var.value` as Airflow renders it: the Variables, failing on a name the deployment lacks."""

    def __init__(self, values: dict[str, str]):
        self._values = values

    def __getattr__(self, name: str) -> str:
        if name not in self._values:
            raise KeyError(f"Airflow Variable {name} is not provided by Terraform")
        return self._values[name]

    def get(self, name: str, default=None):
        return self._values.get(name, default)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """(Terraform's conf.tf locals, the DAG's Settings, a renderer) for one deployment."""
    work = tmp_path_factory.mktemp("align")
    tf = evaluate_conf(
        work, name_prefix=NAME_PREFIX, bucket_prefix=BUCKET_PREFIX, extra_files={"conf/gold.yaml": GOLD}
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAKEHOUSE_CONF_DIR", str(work / "conf"))
        s = settings.load(DAGS_DIR)
    variables = {**tf["name_values"], **RESOURCE_VALUES, "LAKEHOUSE_ARTIFACTS_VERSION": VERSION}
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)

    def render(value):
        if isinstance(value, dict):
            return {k: render(v) for k, v in value.items()}
        if isinstance(value, list):
            return [render(v) for v in value]
        if not isinstance(value, str):
            return value
        return env.from_string(value).render(
            var={"value": _Values(variables)}, params={"artifacts_version": ""}, run_id="manual__1"
        )

    return tf, s, render


def test_the_seed_lambda_and_the_dms_task(deployment):
    tf, s, render = deployment
    assert (
        render(s.get("seed.function_name")) == tf["dag_names"]["seed_function_name"] == "lakehouse-test-seed"
    )
    assert render(s.get("dms.replication_task_id")) == tf["dag_names"]["dms_replication_task_id"]


def test_the_cluster_request_names_what_terraform_creates(deployment):
    tf, s, render = deployment
    request = render(spark.job_flow_overrides(s))
    names = tf["dag_names"]
    assert request["ServiceRole"] == names["emr_service_role"] == "lakehouse-test-emr-service"
    assert request["JobFlowRole"] == names["emr_instance_profile"] == "lakehouse-test-emr-ec2"
    assert request["SecurityConfiguration"] == names["emr_security_configuration"]
    assert request["LogUri"] == names["emr_log_uri"]
    assert tf["dag_locations"]["emr_log_uri"]["bucket"] == tf["bucket_names"]["logs"]
    instances = request["Instances"]
    assert instances["Ec2SubnetId"] == RESOURCE_VALUES["LAKEHOUSE_EMR_SUBNET_ID"]
    assert instances["EmrManagedMasterSecurityGroup"] == RESOURCE_VALUES["LAKEHOUSE_EMR_PRIMARY_SG_ID"]
    assert instances["EmrManagedSlaveSecurityGroup"] == RESOURCE_VALUES["LAKEHOUSE_EMR_CORE_SG_ID"]
    assert instances["ServiceAccessSecurityGroup"] == RESOURCE_VALUES["LAKEHOUSE_EMR_SERVICE_ACCESS_SG_ID"]
    # AmazonEMRServicePolicy_v2 (the service role's) only acts for clusters carrying this tag.
    assert {"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"} in request["Tags"]
    # The execution role only creates and drives clusters carrying these tags.
    tags = {t["Key"]: t["Value"] for t in request["Tags"]}
    assert names["emr_cluster_tags"].items() <= tags.items()


def test_every_step_runs_the_artifacts_where_the_release_is_published(deployment):
    tf, s, render = deployment
    args = render(spark.emr_step(s, "silver"))["HadoopJarStep"]["Args"]
    release = f"s3://{tf['bucket_names']['artifacts']}/lakehouse/{VERSION}"
    assert f"{release}/spark_jobs.zip" in args[args.index("--py-files") + 1].split(",")
    assert args[args.index("--archives") + 1] == f"{release}/conf.zip#conf"
    assert f"{release}/main.py" in args
    assert tf["dag_names"]["artifacts_location"] == f"s3://{tf['bucket_names']['artifacts']}/lakehouse"


def test_glue_databases_are_terraforms(deployment):
    tf, s, render = deployment
    assert (
        render(s.get("glue.databases"))
        == {layer: db["name"] for layer, db in tf["glue_databases"].items()}
        == {layer: f"lakehouse_test_{layer}" for layer in ("bronze", "silver", "gold")}
    )


def test_each_crawled_layer_has_one_terraform_crawler_with_every_table(deployment):
    tf, s, render = deployment
    crawlers = tf["crawlers"]
    assert sorted(crawlers) == [f"{NAME_PREFIX}-{layer}" for layer in ("bronze", "gold", "silver")]
    for layer in s.get("glue.crawl_layers"):
        name = render(s.crawler_name(layer))
        assert name in crawlers, f"the DAG starts crawler {name}, which Terraform does not create"
        assert crawlers[name]["layer"] == layer
        tables = [p.rstrip("/").rsplit("/", 1)[1] for p in crawlers[name]["paths"]]
        ops = ["pipeline_runs", "quarantine_files", "quarantine_rows", "quarantine_released"]
        gold = ["dim_date", "fact_sales", *ops]
        assert tables == (sorted(s.tables) if layer != "gold" else gold)


def test_athena_workgroup_and_results_location(deployment):
    tf, s, render = deployment
    assert (
        render(s.get("athena.workgroup")) == tf["dag_names"]["athena_workgroup"] == "lakehouse-test-analytics"
    )
    # The workgroup enforces its output location: it is the DAG's, so results land where the
    # execution role may write.
    assert render(s.get("athena.output_location")) == tf["dag_names"]["athena_output_location"]
    assert tf["dag_locations"]["athena_output_location"]["bucket"] == tf["bucket_names"]["athena_results"]


def test_raw_zone_and_watermark_are_in_terraforms_buckets(deployment):
    tf, s, render = deployment
    assert render(s.raw_root) == f"s3://{tf['bucket_names']['raw']}"
    assert render(s.watermark_uri) == tf["dag_names"]["watermark_uri"]
    assert tf["dag_locations"]["watermark_uri"]["bucket"] == tf["bucket_names"]["gold"]


def _airflow_variable_names() -> set[str]:
    """Keys of local.airflow_variables in terraform/main.tf: name_values plus the literal map."""
    expr = next(
        loc["airflow_variables"] for loc in parse(TF / "main.tf")["locals"] if "airflow_variables" in loc
    )
    assert expr.startswith("${merge(local.name_values,"), expr
    return set(re.findall(r"\b(LAKEHOUSE_[A-Z_]+)\s*=", expr))


def test_terraform_stores_every_deployment_value_the_dag_renders(deployment):
    tf, s, render = deployment
    stored = set(tf["name_values"]) | _airflow_variable_names()
    assert stored == set(tf["required_deployment_values"])
    assert stored == set(RESOURCE_VALUES) | set(tf["name_values"])
    # Every Variable a template of the DAG reads (for compute emr) is stored, except the release
    # version, which the deploy step sets.
    used = set()
    sections = {k: v for k, v in s.sections.items() if k != "emr_serverless"}
    for text in re.findall(r"var\.value\.(?:get\(')?([A-Z_]+)", repr(sections) + s.raw_root + s.ops_root):
        used.add(text)
    assert used - {"LAKEHOUSE_ARTIFACTS_VERSION"} <= stored
    assert {"LAKEHOUSE_NAME_PREFIX", "LAKEHOUSE_GLUE_DATABASE_PREFIX", "LAKEHOUSE_ALERTS_TOPIC_ARN"} <= used


def test_emr_serverless_values_are_stored_when_that_is_the_compute():
    locals_ = {k: v for loc in parse(TF / "main.tf")["locals"] for k, v in loc.items()}
    assert locals_["serverless"] == '${local.o.compute == "emr_serverless"}'
    keys = set(re.findall(r"\b(LAKEHOUSE_[A-Z_]+)\s*=", locals_["serverless_variables"]))
    declared = settings._read(CONF / "orchestration.yaml")["deployment_values"]
    assert keys == {k for k in declared if k.startswith("LAKEHOUSE_EMR_SERVERLESS_")}
    assert locals_["serverless_variables"].startswith("${local.serverless ? tomap(")
    assert "local.serverless_variables" in locals_["airflow_variables"]
