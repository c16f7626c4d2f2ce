"""Structural checks of the Terraform code with python-hcl2: conventions, security invariants,
and that the resources are wired to conf/ rather than to typed-in lists."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from tests.terraform.tfhelpers import (
    CONF,
    MODULES,
    TF,
    attrs,
    blocks,
    comments,
    dir_blocks,
    load_yaml,
    module_dirs,
    nested,
    parse,
    resource,
    root_dirs,
    tf_files,
)

EXPECTED_MODULES = {
    "network", "storage", "secrets", "rds", "dms", "lambda", "emr", "mwaa", "glue", "athena",
    "lakeformation", "monitoring",
}  # fmt: skip
META = {"depends_on", "lifecycle", "provider", "providers"}


def test_every_expected_module_exists_with_exactly_the_four_files():
    assert {d.name for d in module_dirs()} == EXPECTED_MODULES
    for d in module_dirs():
        assert sorted(p.name for p in d.iterdir()) == [
            "main.tf",
            "outputs.tf",
            "variables.tf",
            "versions.tf",
        ], d


@pytest.mark.parametrize("directory", [*module_dirs(), *root_dirs()], ids=lambda p: p.name)
def test_every_variable_is_typed_and_described(directory):
    variables = [(n, b) for p in directory.glob("*.tf") for n, _, b in blocks(p, "variable")]
    assert variables, directory
    for name, body in variables:
        assert body.get("type"), f"{directory.name}: variable {name} has no type"
        assert str(body.get("description", "")).strip(), (
            f"{directory.name}: variable {name} has no description"
        )


@pytest.mark.parametrize("directory", [*module_dirs(), *root_dirs()], ids=lambda p: p.name)
def test_every_output_is_described(directory):
    for p in directory.glob("*.tf"):
        for name, _, body in blocks(p, "output"):
            assert str(body.get("description", "")).strip(), f"{directory.name}: output {name}"


@pytest.mark.parametrize("directory", module_dirs(), ids=lambda p: p.name)
def test_singleton_resources_are_named_this(directory):
    resources = dir_blocks(directory, "resource")
    counts = Counter(t for t, _, _, _ in resources)
    for rtype, name, _, _ in resources:
        if counts[rtype] == 1:
            assert name == "this", f"{directory.name}: the only {rtype} is named {name!r}, not 'this'"


@pytest.mark.parametrize("path", tf_files(), ids=lambda p: str(p.relative_to(TF)))
def test_count_and_for_each_first_tags_last(path):
    for kind in ("resource", "data", "module"):
        for rtype, name, body in blocks(path, kind):
            keys = attrs(body)
            label = f"{path.relative_to(TF)}: {kind} {rtype}.{name}"
            for meta in ("count", "for_each"):
                if meta in keys:
                    assert keys[0] == meta, f"{label}: {meta} must come first"
            plain = [k for k in keys if k not in META]
            if "tags" in plain:
                assert plain[-1] == "tags", f"{label}: tags must be the last argument"


def test_providers_only_at_the_roots_with_default_tags():
    for path in tf_files():
        providers = parse(path).get("provider", [])
        if path.parent in root_dirs():
            continue
        assert not providers, f"{path}: modules take their provider from the root"
    for root in root_dirs():
        provider = parse(root / "providers.tf")["provider"][0]["aws"]
        assert nested(provider, "default_tags"), root


def test_root_pins_terraform_provider_and_s3_lockfile_backend():
    terraform = parse(TF / "versions.tf")["terraform"][0]
    assert terraform["required_providers"][0]["aws"]["version"] == "~> 6.0"
    assert re.fullmatch(r">= 1\.1\d", terraform["required_version"])
    backend = terraform["backend"][0]["s3"]
    assert backend["use_lockfile"] is True
    assert "dynamodb_table" not in backend


def test_environment_files_exist_and_hold_no_secrets():
    for env in ("dev", "prod"):
        text = (TF / "envs" / f"{env}.tfvars").read_text()
        tfvars = parse(TF / "envs" / f"{env}.tfvars")
        assert tfvars["environment"] == env
        assert tfvars["name_prefix"] == f"lakehouse-{env}"
        backend = (TF / "envs" / f"{env}.s3.tfbackend").read_text()
        assert "use_lockfile = true" in backend
        for content in (text, backend):
            assert not re.search(r"(?i)(password|secret|access_key|token)\s*=", content), env
            assert not re.search(r"AKIA[0-9A-Z]{16}", content), env
    assert parse(TF / "envs" / "prod.tfvars")["rds_deletion_protection"] is True


def test_no_table_list_typed_in_hcl():
    tables = load_yaml(CONF / "tables.yaml")["tables"]
    for path in tf_files():
        text = path.read_text()
        for table in tables:
            assert not re.search(rf'"{table}"', text), f"{path}: table {table} typed in HCL; read conf/"


def _policy_statements():
    for path in tf_files():
        for rtype, name, body in blocks(path, "data"):
            if rtype == "aws_iam_policy_document":
                for st in nested(body, "statement"):
                    yield f"{path.relative_to(TF)}: {name}", st


def test_no_policy_allows_every_action_on_every_resource():
    seen = 0
    for label, st in _policy_statements():
        seen += 1
        if st.get("effect", "Allow") != "Allow":
            continue
        actions = st.get("actions", [])
        resources = st.get("resources", [])
        assert not ("*" in actions and "*" in resources), f"{label}: '*' on '*'"
        assert "*" not in actions, f"{label}: a bare '*' action"
        assert not st.get("not_actions"), f"{label}: NotAction allows too much"
    assert seen > 30


def test_no_administrator_access_attached():
    for path in tf_files():
        for rtype, name, body in blocks(path, "resource"):
            if rtype == "aws_iam_role_policy_attachment":
                assert "AdministratorAccess" not in str(body.get("policy_arn")), f"{path}: {name}"


def test_every_checkov_skip_carries_a_reason():
    skips = 0
    for path in tf_files():
        for line in path.read_text().splitlines():
            if "checkov:skip" in line:
                skips += 1
                m = re.search(r"#checkov:skip=(CKV2?_AWS_\d+):(.+)$", line)
                assert m and len(m.group(2).strip()) >= 20, f"{path}: skip without a reason: {line.strip()}"
    assert skips > 0


def test_buckets_exist_only_in_the_storage_module_and_all_use_the_rotating_key():
    for path in tf_files():
        for rtype, _, _ in blocks(path, "resource"):
            if rtype == "aws_s3_bucket":
                assert path.parent == MODULES / "storage", f"{path}: buckets belong in modules/storage"
    main = MODULES / "storage" / "main.tf"
    res = {(t, n): b for t, n, b in blocks(main, "resource")}
    key = res[("aws_kms_key", "this")]
    assert key["enable_key_rotation"] is True
    bucket_set = res[("aws_s3_bucket", "this")]["for_each"]
    sse = res[("aws_s3_bucket_server_side_encryption_configuration", "this")]
    assert sse["for_each"] == bucket_set == "${var.bucket_names}"
    default = nested(nested(sse, "rule")[0], "apply_server_side_encryption_by_default")[0]
    assert default == {"sse_algorithm": "aws:kms", "kms_master_key_id": "${aws_kms_key.this.arn}"}
    # Versioning, public access block, lifecycle and policy cover every bucket too.
    for rtype in (
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_ownership_controls",
    ):
        assert res[(rtype, "this")]["for_each"] == bucket_set, rtype
    pab = res[("aws_s3_bucket_public_access_block", "this")]
    assert all(
        pab[k] is True
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    tls = nested(
        blocks(main, "data")[[n for _, n, _ in blocks(main, "data")].index("bucket")][2], "statement"
    )[0]
    assert tls["effect"] == "Deny" and nested(tls, "condition")[0]["variable"] == "aws:SecureTransport"


def test_dms_s3_endpoint_takes_every_contract_setting_one_to_one():
    contract = load_yaml(CONF / "raw_contract.yaml")["s3_settings"]
    main = MODULES / "dms" / "main.tf"
    endpoint = {(t, n): b for t, n, b in blocks(main, "resource")}[("aws_dms_s3_endpoint", "this")]
    declared = {n: b for p in [MODULES / "dms" / "variables.tf"] for n, _, b in blocks(p, "variable")}
    setting_type = declared["s3_settings"]["type"]
    for key in contract:
        assert endpoint.get(key) == f"${{local.s3.{key}}}", (
            f"aws_dms_s3_endpoint does not set {key} from the contract"
        )
        assert re.search(rf"\b{key}\b", setting_type), f"variable s3_settings does not accept {key}"
    assert endpoint["encryption_mode"] == "SSE_KMS"
    assert parse(MODULES / "dms" / "main.tf")["locals"][0]["s3"] == "${var.s3_settings}"
    dms_call = parse(TF / "main.tf")["module"]
    dms = next(m["dms"] for m in dms_call if "dms" in m)
    assert dms["s3_settings"] == "${local.dms_s3_settings}"
    assert dms["table_mappings"] == "${local.dms_table_mappings}"
    assert parse(TF / "conf.tf")["locals"][0]["dms_s3_settings"] == "${local.raw_contract.s3_settings}"


def test_dms_task_is_full_load_and_cdc_from_a_secret():
    res = {(t, n): b for t, n, b in blocks(MODULES / "dms" / "main.tf", "resource")}
    task = res[("aws_dms_replication_task", "this")]
    assert task["migration_type"] == "full-load-and-cdc"
    assert task["table_mappings"] == "${var.table_mappings}"
    source = res[("aws_dms_endpoint", "this")]
    assert source["engine_name"] == "mysql" and source["endpoint_type"] == "source"
    assert source["secrets_manager_arn"] and source["secrets_manager_access_role_arn"]
    assert "password" not in source and "username" not in source
    names = {b.get("name") for (t, _), b in res.items() if t == "aws_iam_role"}
    assert {"dms-vpc-role", "dms-cloudwatch-logs-role"} <= names
    assert res[("aws_dms_replication_instance", "this")]["publicly_accessible"] is False


def test_crawlers_are_native_delta_from_conf():
    crawler = resource("glue", "aws_glue_crawler")
    assert crawler["for_each"] == "${var.crawlers}"
    target = nested(crawler, "delta_target")[0]
    assert target == {
        "delta_tables": "${each.value.paths}",
        "write_manifest": False,
        "create_native_delta_table": True,
    }
    glue = next(m["glue"] for m in parse(TF / "main.tf")["module"] if "glue" in m)
    assert glue["crawlers"] == "${local.crawlers}"


def test_rds_is_ready_for_dms_cdc():
    res = {(t, n): b for t, n, b in blocks(MODULES / "rds" / "main.tf", "resource")}
    params = {p["name"]: p["value"] for p in nested(res[("aws_db_parameter_group", "this")], "parameter")}
    assert params["binlog_format"] == "ROW"
    assert params["binlog_row_image"] == "FULL"
    assert params["binlog_checksum"] == "NONE"
    db = res[("aws_db_instance", "this")]
    assert db["manage_master_user_password"] is True
    assert db["publicly_accessible"] is False
    assert db["storage_encrypted"] is True and db["iam_database_authentication_enabled"] is True
    assert "password" not in db
    assert db["engine"] == "mysql" and db["backup_retention_period"] == "${var.backup_retention_days}"


def test_athena_workgroup_enforces_encryption_and_a_scan_cutoff():
    wg = resource("athena", "aws_athena_workgroup")
    cfg = nested(wg, "configuration")[0]
    assert cfg["enforce_workgroup_configuration"] is True
    assert cfg["bytes_scanned_cutoff_per_query"] == "${var.bytes_scanned_cutoff_per_query}"
    enc = nested(nested(cfg, "result_configuration")[0], "encryption_configuration")[0]
    assert enc == {"encryption_option": "SSE_KMS", "kms_key_arn": "${var.kms_key_arn}"}


def test_analysts_get_silver_without_pii_columns():
    res = {(t, n): b for t, n, b in blocks(MODULES / "lakeformation" / "main.tf", "resource")}
    grant = res[("aws_lakeformation_permissions", "analyst_silver")]
    assert grant["for_each"] == "${var.grant_silver_tables ? var.silver_pii_columns : {}}"
    cols = nested(grant, "table_with_columns")[0]
    assert cols["wildcard"] is True and cols["excluded_column_names"] == "${each.value}"
    assert grant["permissions"] == ["SELECT"]
    # Bronze keeps raw PII: analysts get no grant on it.
    analyst = [
        b for (t, n), b in res.items() if t == "aws_lakeformation_permissions" and n.startswith("analyst")
    ]
    assert "bronze" not in str(analyst)
    lf = next(m["lakeformation"] for m in parse(TF / "main.tf")["module"] if "lakeformation" in m)
    assert lf["silver_pii_columns"] == "${local.silver_pii_columns}"


def test_lambda_and_mwaa_settings():
    fn = resource("lambda", "aws_lambda_function")
    env = nested(fn, "environment")[0]["variables"]
    assert {"DB_SECRET_ID", "DB_HOST", "DB_PORT", "DB_NAME"} <= set(env)
    # The Lambda verifies RDS against the CA bundle `make lambda-zip RDS_CA_BUNDLE=...` ships.
    assert env["DB_TLS_CA"] == "${var.tls_ca_bundle}"
    module_vars = {n: b for n, _, b in blocks(MODULES / "lambda" / "variables.tf", "variable")}
    root_vars = {n: b for n, _, b in blocks(TF / "variables.tf", "variable")}
    assert (
        module_vars["tls_ca_bundle"]["default"]
        == root_vars["lambda_tls_ca_bundle"]["default"]
        == ("rds-ca-bundle.pem")
    )
    lam = next(m["lambda"] for m in parse(TF / "main.tf")["module"] if "lambda" in m)
    assert lam["tls_ca_bundle"] == "${var.lambda_tls_ca_bundle}"
    assert nested(fn, "vpc_config") and nested(fn, "tracing_config")[0]["mode"] == "Active"
    assert nested(fn, "dead_letter_config") and fn["filename"] == "${var.zip_path}"
    mwaa = resource("mwaa", "aws_mwaa_environment")
    assert mwaa["airflow_version"] == "${var.airflow_version}"
    airflow = {n: b for n, _, b in blocks(MODULES / "mwaa" / "variables.tf", "variable")}["airflow_version"]
    assert airflow["default"] == "3.3.1"
    assert all(
        nested(nested(mwaa, "logging_configuration")[0], k)[0]["enabled"] is True
        for k in ("task_logs", "scheduler_logs")
    )


def test_emr_security_configuration_encrypts_at_rest_and_in_transit():
    text = (MODULES / "emr" / "main.tf").read_text()
    for needle in (
        "EnableInTransitEncryption = true",
        "EnableAtRestEncryption = true",
        'EncryptionMode = "SSE-KMS"',
        "EnableEbsEncryption       = true",
        "S3Object                = var.tls_certificate_s3_uri",
    ):
        assert re.sub(r"\s+", " ", needle) in re.sub(r"\s+", " ", text), needle


def test_monitoring_alarms_cover_dms_and_dag_failures():
    res = {(t, n): b for t, n, b in blocks(MODULES / "monitoring" / "main.tf", "resource")}
    assert res[("aws_sns_topic", "this")]["kms_master_key_id"] == "${var.kms_key_arn}"
    assert res[("aws_sns_topic_subscription", "this")]["protocol"] == "email"
    latency = res[("aws_cloudwatch_metric_alarm", "cdc_latency")]
    assert "CDCLatencySource" in latency["for_each"] and "CDCLatencyTarget" in latency["for_each"]
    for name in ("dms_task_errors", "dag_failures", "cdc_latency", "lambda_errors"):
        assert res[("aws_cloudwatch_metric_alarm", name)]["alarm_actions"] == ["${aws_sns_topic.this.arn}"]


def test_bootstrap_trusts_only_this_repository_via_oidc():
    main = TF / "bootstrap" / "main.tf"
    docs = {n: b for t, n, b in blocks(main, "data") if t == "aws_iam_policy_document"}
    for name in ("deploy_trust", "plan_trust"):
        st = nested(docs[name], "statement")[0]
        assert set(st["actions"]) == {"sts:AssumeRoleWithWebIdentity", "sts:TagSession"}
        conds = {c["variable"]: c for c in nested(st, "condition")}
        assert conds["${local.oidc_host}:aud"]["values"] == ["sts.amazonaws.com"]
        assert conds["${local.oidc_host}:sub"]["test"] == "StringEquals"
    locals_ = parse(main)["locals"][0]
    assert "repo:${local.repo}:ref:refs/heads/main" in locals_["deploy_subjects"]
    assert "environment:${e}" in locals_["deploy_subjects"]


def test_comments_are_parsed_for_skip_reasons():
    # Guards the skip test above: python-hcl2 must see the checkov comments.
    fn = resource("lambda", "aws_lambda_function")
    assert any(c.startswith("checkov:skip=CKV_AWS_272:") for c in comments(fn))
