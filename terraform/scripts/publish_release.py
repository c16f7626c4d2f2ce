"""Publish a release to the artifacts bucket: what EMR and MWAA run, tagged with the commit.

    make spark-zip lambda-zip
    python terraform/scripts/publish_release.py --bucket B --sha SHA [--deployment-json F]

uploads, under releases/<sha>/:
    spark_jobs.zip      the job package (--py-files of the EMR steps)      dist/spark_jobs.zip
    conf.zip            the configuration (--archives conf.zip#conf)       dist/conf.zip
    main.py             the entry point spark_jobs/main.py                 dist/main.py
    lambda_seed.zip     the seeding Lambda package                         dist/lambda_seed.zip
    conf/...            the configuration as files
    dags/...            the DAGs with their requirements.txt
    manifest.json       commit, time, ref and the SHA-256 of every file
then syncs dags/ (plus conf/ and deployment.json) into mwaa/dags/, the environment's DAG
folder, and points releases/latest.json at the release. Every object carries the tags
commit_sha and published_at. Credentials come from the environment (OIDC in CI).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[2]
DAG_PREFIX = "mwaa/dags/"
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


def release_uploads(repo: Path, sha: str) -> list[Upload]:
    """What one release consists of, as (key, local file)."""
    prefix = f"releases/{sha}/"
    required = {
        name: repo / "dist" / name for name in ("spark_jobs.zip", "conf.zip", "main.py", "lambda_seed.zip")
    }
    missing = [str(p.relative_to(repo)) for p in required.values() if not p.is_file()]
    if missing:
        raise PublishError(
            f"cannot publish release {sha}: missing {', '.join(missing)} "
            "(build them with `make spark-zip lambda-zip`)"
        )
    uploads = [Upload(prefix + key, path) for key, path in required.items()]
    for folder in ("conf", "dags"):
        uploads += [Upload(f"{prefix}{p.relative_to(repo).as_posix()}", p) for p in _files(repo / folder)]
    return uploads


def dag_folder_uploads(repo: Path, deployment_json: Path | None) -> list[Upload]:
    """The MWAA DAG folder: the DAGs, conf/ beside them, and the deployment's runtime values."""
    uploads = [Upload(DAG_PREFIX + p.relative_to(repo / "dags").as_posix(), p) for p in _files(repo / "dags")]
    uploads += [Upload(f"{DAG_PREFIX}{p.relative_to(repo).as_posix()}", p) for p in _files(repo / "conf")]
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
) -> dict:
    """Upload the release and the DAG folder; return the manifest."""
    published_at = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    tagging = urlencode({"commit_sha": sha, "published_at": published_at})
    release = release_uploads(repo, sha)
    manifest = {
        "commit_sha": sha,
        "ref": ref,
        "published_at": published_at,
        "prefix": f"s3://{bucket}/releases/{sha}/",
        "files": {u.key: {"sha256": sha256(u.path), "bytes": u.path.stat().st_size} for u in release},
    }
    for upload in release:
        s3.upload_file(str(upload.path), bucket, upload.key, ExtraArgs={"Tagging": tagging})
    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
    s3.put_object(Bucket=bucket, Key=f"releases/{sha}/manifest.json", Body=body, Tagging=tagging)

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

    latest = {"commit_sha": sha, "published_at": published_at, "manifest": f"releases/{sha}/manifest.json"}
    s3.put_object(
        Bucket=bucket, Key="releases/latest.json", Body=json.dumps(latest).encode(), Tagging=tagging
    )
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bucket", required=True, help="the environment's artifacts bucket")
    parser.add_argument("--sha", required=True, help="the commit being released")
    parser.add_argument("--ref", default="", help="the git ref, recorded in the manifest")
    parser.add_argument("--deployment-json", type=Path, help="terraform output -json orchestration")
    args = parser.parse_args(argv)
    import boto3

    try:
        manifest = publish(
            boto3.client("s3"), args.bucket, args.sha, ref=args.ref, deployment_json=args.deployment_json
        )
    except PublishError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"published {len(manifest['files'])} files to {manifest['prefix']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
