"""Where the raw zone lives: a local folder or an `s3://bucket/prefix`, behind one small interface.

Every write is atomic: a reader never sees a half-written file. Locally a file is written to a
hidden temp file in the same folder, fsynced, renamed into place and the folder fsynced; on S3 a
PUT is atomic by itself (the object appears only once complete).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

TEMP_SUFFIX = ".tmp"


class TargetError(RuntimeError):
    """The target location is malformed, unreachable or not writable; the message names it."""


class Storage(Protocol):
    uri: str

    def write_atomic(self, key: str, write: Callable[[BinaryIO], None]) -> int: ...
    def write_bytes(self, key: str, data: bytes) -> int: ...
    def read_bytes(self, key: str) -> bytes | None: ...
    def list_names(self, folder: str) -> list[str]: ...
    def delete(self, key: str) -> None: ...
    def check(self) -> None: ...
    def lock(self, key: str) -> contextlib.AbstractContextManager[None]: ...
    def remove_temp_files(self, folder: str) -> int: ...


def _temp_name(name: str) -> str:
    # Hidden (leading dot) so Spark and Hadoop listings skip it, and not a contract file name.
    return f".{name}.{os.getpid()}{TEMP_SUFFIX}"


class LocalStorage:
    """A folder on the local file system."""

    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()
        self.uri = str(self.root)

    def path(self, key: str) -> Path:
        return self.root / key

    def check(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise TargetError(f"target {self.uri} exists and is not a folder")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TargetError(f"target {self.uri}: cannot create the folder ({exc.strerror})") from None
        if not os.access(self.root, os.W_OK):
            raise TargetError(f"target {self.uri} is not writable")

    def write_atomic(self, key: str, write: Callable[[BinaryIO], None]) -> int:
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(_temp_name(final.name))
        try:
            with open(tmp, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
                size = f.tell()
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        # The rename is durable only once the folder's entry is on disk.
        fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return size

    def write_bytes(self, key: str, data: bytes) -> int:
        return self.write_atomic(key, lambda f: f.write(data))

    def read_bytes(self, key: str) -> bytes | None:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            return None

    def list_names(self, folder: str) -> list[str]:
        p = self.path(folder)
        if not p.is_dir():
            return []
        return sorted(e.name for e in p.iterdir() if e.is_file())

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(key).unlink()

    def remove_temp_files(self, folder: str) -> int:
        """Delete temp files a crashed writer left behind; returns how many."""
        removed = 0
        for name in self.list_names(folder):
            if name.startswith(".") and name.endswith(TEMP_SUFFIX):
                self.delete(f"{folder}/{name}")
                removed += 1
        return removed

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """An exclusive lock so two replicators never write the same target at once."""
        p = self.path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "a+") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise TargetError(
                    f"target {self.uri} is locked by another replicator ({p}); wait for it or stop it"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


class S3Storage:
    """A prefix in an S3 bucket (AWS, or any endpoint set by AWS_ENDPOINT_URL, e.g. moto)."""

    def __init__(self, uri: str, client=None):
        rest = uri[len("s3://") :]
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise TargetError(f"target {uri!r} names no bucket; expected s3://bucket/prefix")
        self.uri = uri.rstrip("/")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client

    @property
    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config as BotoConfig

            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
            self._client = boto3.client(
                "s3",
                region_name=region,
                config=BotoConfig(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3}),
            )
        return self._client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "?")
            raise TargetError(
                f"target {self.uri}: bucket {self.bucket} is not usable (S3 error {code})"
            ) from None
        except BotoCoreError as exc:
            raise TargetError(f"target {self.uri}: cannot reach S3 ({exc})") from None

    def write_atomic(self, key: str, write: Callable[[BinaryIO], None]) -> int:
        with tempfile.NamedTemporaryFile(prefix="replicator-", suffix=TEMP_SUFFIX) as tmp:
            write(tmp)
            tmp.flush()
            size = tmp.tell()
            # upload_file switches to multipart for big files; the object appears only when complete.
            self.client.upload_file(tmp.name, self.bucket, self._key(key))
        return size

    def write_bytes(self, key: str, data: bytes) -> int:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        return len(data)

    def read_bytes(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    def list_names(self, folder: str) -> list[str]:
        prefix = self._key(folder).rstrip("/") + "/"
        names = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, Delimiter="/"
        ):
            names += [o["Key"][len(prefix) :] for o in page.get("Contents", [])]
        return sorted(names)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def remove_temp_files(self, folder: str) -> int:
        return 0  # uploads are atomic: S3 never holds a partial object

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        # S3 has no cheap advisory lock; one replicator per target is the operator's rule (as with DMS).
        yield


def open_storage(uri: str) -> Storage:
    """Storage for a target: `s3://bucket/prefix`, `file:///path` or a local path."""
    if uri.startswith("s3://"):
        return S3Storage(uri)
    if uri.startswith("file://"):
        return LocalStorage(uri[len("file://") :])
    if "://" in uri:
        scheme = uri.split("://", 1)[0]
        raise TargetError(
            f"target {uri!r}: unsupported scheme {scheme!r}; use a local path or s3://bucket/prefix"
        )
    return LocalStorage(uri)
