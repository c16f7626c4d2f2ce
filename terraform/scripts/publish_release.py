"""Publish a release to the artifacts bucket: what EMR and MWAA run, tagged with the commit.

    make lambda-zip && lakehouse package --out dist
    python terraform/scripts/publish_release.py --bucket B --sha SHA \
        [--deployment-json F] [--variables-prefix P]

uploads, under <artifacts>/<sha>/, where <artifacts> is the key of artifacts.location in
conf/orchestration.yaml (the DAG's steps read the EMR files from there):
    spark_jobs.zip      the job package (--py-files of the EMR steps)      dist/emr/spark_jobs.zip
    conf.zip            the configuration (--archives conf.zip#conf)       dist/emr/conf.zip
    main.py             the entry point spark_jobs/main.py                 dist/emr/main.py
    lambda_seed.zip     the seeding Lambda package                         dist/lambda_seed.zip
    conf/...            the configuration as files
    dags/...            the DAGs with their requirements.txt
    manifest.json       commit, time, ref and the SHA-256 of every file
then syncs the MWAA bundle of `lakehouse package` (dist/mwaa/dags: the DAG, its helpers, conf/,
spark_jobs/config.py, the constraints file; plus deployment.json) into mwaa/dags/, the
environment's DAG folder, points <artifacts>/latest.json at the release and, with
--variables-prefix, sets the DAG's Airflow Variable LAKEHOUSE_ARTIFACTS_VERSION (the secret
<prefix>/LAKEHOUSE_ARTIFACTS_VERSION) to the commit, last, so runs switch to a complete release.
Every object carries the tags commit_sha and published_at. Credentials come from the
environment (OIDC in CI).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[2]
DAG_PREFIX = "mwaa/dags/"
VERSION_VARIABLE = "LAKEHOUSE_ARTIFACTS_VERSION"
EMR_FILES = ("spark_jobs.zip", "conf.zip", "main.py")
SKIP_PARTS = {"__pycache__", ".pytest_cache"}


class PublishError(RuntimeError):
    """A file the release needs is missing."""


@dataclass(frozen=True)
class Upload:
    key: str
    path: Path


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not SKIP_PARTS & set(p.parts))


def artifacts_location(repo: Path) -> tuple[str, str]:
    """(bucket pattern, key prefix) of artifacts.location in conf/orchestration.yaml."""
    import yaml

    file = repo / "conf" / "orchestration.yaml"
    try:
        location = str(yaml.safe_load(file.read_text())["artifacts"]["location"])
    except (OSError, KeyError, TypeError) as exc:
        raise PublishError(f"{file}: artifacts.location: cannot read it ({exc})") from None
    m = re.fullmatch(r"s3://([^/]+)/(.+?)/?", location)
    if not m:
        raise PublishError(f"{file}: artifacts.location: expected s3://<bucket>/<prefix>, got {location!r}")
    return m.group(1), m.group(2)


def release_prefix(repo: Path, bucket: str) -> str:
    """The key prefix the DAG's steps read releases from, checking the bucket is the DAG's."""
    template, prefix = artifacts_location(repo)
    pattern = re.escape(template).replace(re.escape("${LAKEHOUSE_BUCKET_PREFIX}"), ".+")
    if not re.fullmatch(pattern, bucket):
        raise PublishError(
            f"bucket {bucket!r} is not the artifacts bucket of conf/orchestration.yaml ({template})"
        )
    return prefix


def release_uploads(repo: Path, sha: str, prefix: str = "lakehouse") -> list[Upload]:
    """What one release consists of, as (key, local file)."""
    prefix = f"{prefix}/{sha}/"
    required = {name: repo / "dist" / "emr" / name for name in EMR_FILES}
    required["lambda_seed.zip"] = repo / "dist" / "lambda_seed.zip"
    required[".mwaa"] = repo / "dist" / "mwaa" / "dags"
    missing = [str(p.relative_to(repo)) for p in required.values() if not p.exists()]
    if missing:
        raise PublishError(
            f"cannot publish release {sha}: missing {', '.join(missing)} "
            "(build them with `make lambda-zip` and `lakehouse package --out dist`)"
        )
    del required[".mwaa"]
    uploads = [Upload(prefix + key, path) for key, path in required.items()]
    for folder in ("conf", "dags"):
        uploads += [Upload(f"{prefix}{p.relative_to(repo).as_posix()}", p) for p in _files(repo / folder)]
    return uploads


def dag_folder_uploads(repo: Path, deployment_json: Path | None) -> list[Upload]:
    """The MWAA DAG folder: the bundle `lakehouse package` builds, and the deployment's record."""
    bundle = repo / "dist" / "mwaa" / "dags"
    uploads = [Upload(DAG_PREFIX + p.relative_to(bundle).as_posix(), p) for p in _files(bundle)]
    if deployment_json:
        uploads.append(Upload(DAG_PREFIX + "deployment.json", deployment_json))
    return uploads


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def publish(
    s3,
    bucket: str,
    sha: str,
    *,
    repo: Path = REPO,
    ref: str = "",
    deployment_json: Path | None = None,
    now: datetime | None = None,
    secrets=None,
    variables_prefix: str | None = None,
) -> dict:
    """Upload the release and the DAG folder, then point the DAG at it; return the manifest."""
    published_at = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    tagging = urlencode({"commit_sha": sha, "published_at": published_at})
    prefix = release_prefix(repo, bucket)
    release = release_uploads(repo, sha, prefix)
    manifest = {
        "commit_sha": sha,
        "ref": ref,
        "published_at": published_at,
        "prefix": f"s3://{bucket}/{prefix}/{sha}/",
        "files": {u.key: {"sha256": sha256(u.path), "bytes": u.path.stat().st_size} for u in release},
    }
    for upload in release:
        s3.upload_file(str(upload.path), bucket, upload.key, ExtraArgs={"Tagging": tagging})
    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
    s3.put_object(Bucket=bucket, Key=f"{prefix}/{sha}/manifest.json", Body=body, Tagging=tagging)

    dag_uploads = dag_folder_uploads(repo, deployment_json)
    for upload in dag_uploads:
        s3.upload_file(str(upload.path), bucket, upload.key, ExtraArgs={"Tagging": tagging})
    # A DAG deleted from the repository must disappear from the environment too.
    wanted = {u.key for u in dag_uploads}
    stale = [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=DAG_PREFIX)
        for obj in page.get("Contents", [])
        if obj["Key"] not in wanted
    ]
    for key in stale:
        s3.delete_object(Bucket=bucket, Key=key)

    latest = {"commit_sha": sha, "published_at": published_at, "manifest": f"{prefix}/{sha}/manifest.json"}
    s3.put_object(
        Bucket=bucket, Key=f"{prefix}/latest.json", Body=json.dumps(latest).encode(), Tagging=tagging
    )
    if variables_prefix:
        set_variable(secrets, f"{variables_prefix.rstrip('/')}/{VERSION_VARIABLE}", sha)
    return manifest


def set_variable(secrets, secret_id: str, value: str) -> None:
    """Store an Airflow Variable for the Secrets Manager backend, creating the secret once."""
    try:
        secrets.put_secret_value(SecretId=secret_id, SecretString=value)
    except secrets.exceptions.ResourceNotFoundException:
        secrets.create_secret(Name=secret_id, SecretString=value, Description="Airflow Variable (deploy)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bucket", required=True, help="the environment's artifacts bucket")
    parser.add_argument("--sha", required=True, help="the commit being released")
    parser.add_argument("--ref", default="", help="the git ref, recorded in the manifest")
    parser.add_argument("--deployment-json", type=Path, help="terraform output -json orchestration")
    parser.add_argument(
        "--variables-prefix",
        help="Secrets Manager prefix of the Airflow Variables (terraform output airflow_variables_prefix)",
    )
    args = parser.parse_args(argv)
    import boto3

    try:
        manifest = publish(
            boto3.client("s3"),
            args.bucket,
            args.sha,
            ref=args.ref,
            deployment_json=args.deployment_json,
            secrets=boto3.client("secretsmanager") if args.variables_prefix else None,
            variables_prefix=args.variables_prefix,
        )
    except PublishError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"published {len(manifest['files'])} files to {manifest['prefix']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
