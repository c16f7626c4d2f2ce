"""Which raw files a bronze table holds, without scanning the table on every run.

The truth is bronze itself: every row carries `_source_file`, and a batch of files becomes
visible in the Delta commit that appends it. Reading that column back costs a Spark job over the
whole table, and the table only grows. So each bronze append also names its files in the commit's
`userMetadata` (`commit_metadata`), and `<ops>/bronze_ledger/<table>.json` keeps a copy of the
set of names at one bronze version, with the table's id. A run starts from that copy and adds the
names the commits after its version carry, read from the Delta log on the driver (no Spark job);
then it saves the set at the version it reached.

Whenever that cannot be exact, the names are read from the table instead (`scan`): no copy, one
that does not parse or fails its checksum, another table id, a copy newer than the table, a
commit that removes data or adds it without naming its files, or a commit the log no longer
holds. The copy is only ever what the table held at a version, so deleting it, or two runs
writing it at once, costs one scan and never a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import posixpath

from pyspark.sql import SparkSession

from spark_jobs import delta_io
from spark_jobs.schemas import SOURCE_FILE

log = logging.getLogger(__name__)

METADATA_KEY = "lakehouse.source_files"
FORMAT = 1
# Beyond this many commits to read through, one scan of the table is cheaper than the log.
MAX_LOG_COMMITS = 200


def commit_metadata(files: list[str]) -> str:
    """The `userMetadata` of a bronze append of `files` (names or paths)."""
    return json.dumps({METADATA_KEY: sorted(posixpath.basename(f) for f in files)})


def _checksum(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def load(spark: SparkSession, path: str) -> dict | None:
    """The saved copy at `path`, or None when there is none or it cannot be trusted."""
    try:
        text = delta_io.read_text(spark, path)
        if text is None:
            return None
        doc = json.loads(text)
        payload = doc["payload"]
        if doc.get("sha256") != _checksum(payload) or payload.get("format") != FORMAT:
            raise ValueError("checksum or format mismatch")
        return payload
    except Exception as exc:  # py4j errors, bad JSON, a torn or foreign file: read the table instead
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        log.warning("file ledger %s unusable; the Delta log or the table is read instead (%s)", path, reason)
        return None


def save(spark: SparkSession, path: str, payload: dict) -> None:
    """Write the copy (one small file, replaced whole). A failure is logged, never raised: the
    copy is an optimisation, and the next run scans instead."""
    payload = {**payload, "format": FORMAT}
    try:
        delta_io.write_text(spark, path, json.dumps({"payload": payload, "sha256": _checksum(payload)}))
    except Exception as exc:  # py4j wraps the Java exception
        log.warning("file ledger %s not saved (%s)", path, str(exc).splitlines()[0][:200])


def scan(spark: SparkSession, bronze_path: str, version: int) -> set[str]:
    """The names of the source files in bronze at `version`, read from the table (a Spark job)."""
    rows = delta_io.read(spark, bronze_path, version).select(SOURCE_FILE).distinct().collect()
    return {posixpath.basename(r[0]) for r in rows}


def names_added(spark: SparkSession, bronze_path: str, after: int, upto: int) -> set[str] | None:
    """The source files the commits in (after, upto] appended, from their `userMetadata`;
    None when a commit in that range removes data, adds data without naming its files, or is
    missing from the log."""
    if upto <= after:
        return set()
    jvm = spark._jvm
    delta_log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, bronze_path)
    names: set[str] = set()
    expected = after + 1
    try:
        changes = delta_log.getChanges(after + 1, True)
        while expected <= upto and changes.hasNext():
            pair = changes.next()
            if int(pair._1()) != expected:
                return _inexact(bronze_path, expected, "is missing from the log")
            named, adds = None, False
            actions = pair._2().iterator()
            while actions.hasNext():
                action = actions.next()
                kind = action.getClass().getSimpleName()
                if kind == "CommitInfo":
                    meta = action.userMetadata()
                    named = _named_files(meta.get()) if meta.isDefined() else None
                elif kind == "AddFile":
                    adds = adds or bool(action.dataChange())
                elif kind == "RemoveFile":
                    if action.dataChange():
                        return _inexact(bronze_path, expected, "removes data")
                elif kind == "AddCDCFile":
                    return _inexact(bronze_path, expected, "changes rows")
            if adds:
                if named is None:
                    return _inexact(bronze_path, expected, "adds data without naming its source files")
                names |= named
            expected += 1
    except Exception as exc:  # a commit file no longer in the log, or one Delta cannot read
        return _inexact(bronze_path, after + 1, f"cannot be read from the log ({str(exc)[:200]})")
    return names if expected > upto else _inexact(bronze_path, expected, "is missing from the log")


def _inexact(bronze_path: str, version: int, why: str) -> None:
    """Log why the log cannot give the names (so the table is scanned); None, for the caller."""
    log.info("%s: version %d %s; its source files are read from the table", bronze_path, version, why)


def _named_files(user_metadata: str) -> set[str] | None:
    try:
        files = json.loads(user_metadata)[METADATA_KEY]
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return set(files)


def source_files(
    spark: SparkSession, bronze_path: str, version: int, saved: dict | None
) -> tuple[set[str], dict]:
    """The source file names bronze holds at `version`, from `saved` (a loaded copy) and the
    log, or by a scan. Without a copy, a young table's whole log (from version 0) serves.
    Returns the names and the copy to save."""
    tid = delta_io.table_id(spark, bronze_path)
    start, names = -1, set()
    if saved and saved.get("table_id") == tid and isinstance(saved.get("version"), int):
        start, names = saved["version"], set(saved.get("files", []))
    since = f"the ledger copy's version {start}" if start >= 0 else "the log's start (no usable ledger copy)"
    if start > version:
        added = _inexact(bronze_path, version, f"is before {since}")
    elif version - start > MAX_LOG_COMMITS:
        added = _inexact(bronze_path, version, f"is more than {MAX_LOG_COMMITS} commits past {since}")
    else:
        added = names_added(spark, bronze_path, start, version)
    names = scan(spark, bronze_path, version) if added is None else names | added
    return names, {"table_id": tid, "version": version, "files": sorted(names)}
