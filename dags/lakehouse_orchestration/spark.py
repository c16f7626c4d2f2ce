"""Request bodies for the Spark work: the EMR cluster, one step per layer, EMR Serverless job runs.

Pure functions of the settings; the values stay Jinja templates that Airflow renders when the task
runs (the operators' job_flow_overrides, steps and job_driver are templated fields).
"""

from __future__ import annotations

from typing import Any

from lakehouse_orchestration.settings import Settings


def artifact(s: Settings, name_key: str) -> str:
    """The S3 URI of one uploaded artifact: <location>/<version>/<file>."""
    return "/".join(
        [str(s.get("artifacts.location")).rstrip("/"), s.get("artifacts.version"), s.get(name_key)]
    )


def py_files(s: Settings) -> str:
    return ",".join([artifact(s, "artifacts.py_files"), *s.get("spark_job.extra_py_files")])


def job_arguments(s: Settings, layer: str) -> list[str]:
    """Arguments of spark_jobs/main.py; conf.zip is unpacked as ./conf beside the driver."""
    return [
        "--env",
        s.get("spark_job.env"),
        "--layers",
        layer,
        "--conf-dir",
        "conf",
        "--run-id",
        "{{ run_id }}",
    ]


def job_flow_overrides(s: Settings) -> dict[str, Any]:
    """The RunJobFlow request of the transient cluster."""
    groups = []
    for g in s.get("emr.instance_groups"):
        if int(g["count"]) <= 0:
            continue
        group = {
            "Name": g["role"].lower(),
            "InstanceRole": g["role"],
            "InstanceType": g["instance_type"],
            "InstanceCount": int(g["count"]),
            "Market": g["market"],
        }
        if g.get("bid_price"):
            group["BidPrice"] = str(g["bid_price"])
        groups.append(group)
    return {
        "Name": s.get("emr.cluster_name"),
        "ReleaseLabel": s.get("emr.release_label"),
        "LogUri": s.get("emr.log_uri"),
        "Applications": [{"Name": a} for a in s.get("emr.applications")],
        "Configurations": s.get("emr.configurations"),
        "Instances": {
            "InstanceGroups": groups,
            "Ec2SubnetId": s.get("emr.subnet_id"),
            "EmrManagedMasterSecurityGroup": s.get("emr.security_groups.primary"),
            "EmrManagedSlaveSecurityGroup": s.get("emr.security_groups.core"),
            "ServiceAccessSecurityGroup": s.get("emr.security_groups.service_access"),
            # Steps are added after creation; the DAG (or the idle timeout) ends the cluster.
            "KeepJobFlowAliveWhenNoSteps": True,
            "TerminationProtected": False,
        },
        "AutoTerminationPolicy": {"IdleTimeout": int(s.get("emr.idle_timeout_seconds"))},
        "EbsRootVolumeSize": int(s.get("emr.ebs_root_volume_size_gb")),
        "ServiceRole": s.get("emr.service_role"),
        "JobFlowRole": s.get("emr.job_flow_role"),
        "SecurityConfiguration": s.get("emr.security_configuration"),
        "VisibleToAllUsers": True,
        "Tags": [
            *({"Key": k, "Value": str(v)} for k, v in s.get("emr.tags").items()),
            {"Key": "airflow-run-id", "Value": "{{ run_id }}"},
        ],
    }


def emr_step(s: Settings, layer: str) -> dict[str, Any]:
    """One `command-runner.jar spark-submit` step running one layer in cluster deploy mode."""
    env_conf = [
        arg
        for name, value in s.job_env_vars.items()
        for arg in ("--conf", f"spark.yarn.appMasterEnv.{name}={value}")
    ]
    return {
        "Name": f"lakehouse-{layer}",
        "ActionOnFailure": s.get("emr.step_action_on_failure"),
        "HadoopJarStep": {
            "Jar": "command-runner.jar",
            "Args": [
                "spark-submit",
                "--deploy-mode",
                "cluster",
                "--py-files",
                py_files(s),
                # --archives keeps conf/'s folders (env/aws.yaml); --files would flatten them.
                "--archives",
                f"{artifact(s, 'artifacts.conf_archive')}#conf",
                *env_conf,
                artifact(s, "artifacts.entry_point"),
                *job_arguments(s, layer),
            ],
        },
    }


def serverless_job_driver(s: Settings, layer: str) -> dict[str, Any]:
    """The EMR Serverless jobDriver running the same entry point for one layer."""
    conf = {
        **s.get("emr_serverless.spark_conf"),
        **{f"spark.emr-serverless.driverEnv.{n}": v for n, v in s.job_env_vars.items()},
    }
    params = [
        "--py-files",
        py_files(s),
        "--archives",
        f"{artifact(s, 'artifacts.conf_archive')}#conf",
        *(arg for k, v in conf.items() for arg in ("--conf", f"{k}={v}")),
    ]
    return {
        "sparkSubmit": {
            "entryPoint": artifact(s, "artifacts.entry_point"),
            "entryPointArguments": job_arguments(s, layer),
            "sparkSubmitParameters": " ".join(params),
        }
    }


def serverless_configuration_overrides(s: Settings) -> dict[str, Any]:
    return {
        "monitoringConfiguration": {
            "s3MonitoringConfiguration": {"logUri": s.get("emr_serverless.log_uri")},
        }
    }
