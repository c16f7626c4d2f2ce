"""Where a benchmark step's Spark job time goes, read from Spark's event log.

`bench/bench_silver.py --jobs` and `bench/bench_gold.py --jobs` turn Spark's event log on (into
the benchmark's temporary folder) and print, after each incremental step, the time of the Spark
jobs the step started, grouped by what they did: Delta's own description of the job ("Delta:
Writing modified data - MERGE operation", "Delta: Filtering files for query", ...) or else the
line of the job that started it ("collect at spark_jobs/jobs/silver.py:275"). Jobs run side by
side when tables do, so job time can exceed the step's seconds; it says which kind of work
dominates, not what a step would save without it.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DIGITS = re.compile(r"\d+")


def event_log_conf(folder: Path) -> dict[str, str]:
    """The Spark conf that writes the application's event log into `folder` (created here)."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": str(folder),
        "spark.eventLog.compress": "false",
    }


@dataclass(frozen=True)
class Job:
    job_id: int
    what: str
    ms: int | None  # None: the job's end is not in the log (yet)
    submitted: int = 0  # epoch milliseconds


def what_job(description: str | None, stage_names: list[str]) -> str:
    """A job's kind: its description with numbers as N (Delta names versions and file counts in
    them), or else the call site of its last stage (`stage_names` in stage order), with the
    repository's path cut off."""
    if description:
        return DIGITS.sub("N", description.strip().splitlines()[0])
    site = stage_names[-1] if stage_names else "unknown"
    return site.replace(f"{REPO}/", "")


def read_jobs(log_file: Path) -> dict[int, Job]:
    """Every job started in an event log file (one JSON event per line), by job id."""
    started: dict[int, tuple[int, str]] = {}
    ended: dict[int, int] = {}
    with log_file.open(encoding="utf-8") as lines:
        for line in lines:
            # Only job events are parsed: the log is mostly task and SQL plan events.
            if not line.startswith('{"Event":"SparkListenerJob'):
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:  # the last line of a log being written
                continue
            job_id = event["Job ID"]
            if event["Event"] == "SparkListenerJobStart":
                props = event.get("Properties") or {}
                # The result stage, created after its parents, has the highest id.
                stages = sorted(event.get("Stage Infos", []), key=lambda s: s.get("Stage ID", 0))
                what = what_job(props.get("spark.job.description"), [s.get("Stage Name", "") for s in stages])
                started[job_id] = (event["Submission Time"], what)
            elif event["Event"] == "SparkListenerJobEnd":
                ended[job_id] = event["Completion Time"]
    return {
        j: Job(j, what, ended[j] - submitted if j in ended else None, submitted)
        for j, (submitted, what) in started.items()
    }


def breakdown(jobs: dict[int, Job], first: int, last: int) -> list[tuple[str, int, int]]:
    """(what, jobs, milliseconds) for the jobs with ids first..last, the most time first."""
    count: dict[str, int] = defaultdict(int)
    ms: dict[str, int] = defaultdict(int)
    for job_id in range(first, last + 1):
        job = jobs.get(job_id)
        if job is None:
            continue
        count[job.what] += 1
        ms[job.what] += job.ms or 0
    return sorted(((w, count[w], ms[w]) for w in count), key=lambda r: (-r[2], r[0]))


def timeline(jobs: dict[int, Job], first: int, last: int) -> list[tuple[int, int | None, int | None, str]]:
    """The jobs first..last in the order they started, as (start, gap, ms, what): the start in
    milliseconds from the first one's; the gap since every job before it had ended (the driver
    alone), None when it started while another still ran."""
    ordered = sorted(
        (jobs[i] for i in range(first, last + 1) if i in jobs), key=lambda j: (j.submitted, j.job_id)
    )
    rows = []
    ended = ordered[0].submitted if ordered else 0
    for job in ordered:
        gap = job.submitted - ended if job.submitted >= ended else None
        rows.append((job.submitted - ordered[0].submitted, gap, job.ms, job.what))
        ended = max(ended, job.submitted + (job.ms or 0))
    return rows


def busy_ms(jobs: dict[int, Job], first: int, last: int) -> int:
    """Milliseconds during which at least one of the jobs with ids first..last ran (jobs side by
    side count once; a job whose end is not logged counts nothing): from the first one's start
    to the last end, less the timeline's gaps."""
    rows = timeline(jobs, first, last)
    if not rows:
        return 0
    span = max(start + (ms or 0) for start, _, ms, _ in rows)
    return span - sum(gap or 0 for _, gap, _, _ in rows)


class JobLog:
    """The event log of a running Spark application whose conf came from `event_log_conf`."""

    def __init__(self, spark, folder: Path):
        app = spark.sparkContext.applicationId
        self.candidates = [folder / f"{app}.inprogress", folder / app]

    def jobs(self, last: int, wait_s: float = 10.0) -> dict[int, Job]:
        """The jobs logged so far, once the end of job `last` is in the log (Spark's listener
        writes it shortly after the job returns) or `wait_s` passed."""
        deadline = time.monotonic() + wait_s
        while True:
            found = next((p for p in self.candidates if p.is_file()), None)
            jobs = read_jobs(found) if found is not None else {}
            done = last < 0 or (last in jobs and jobs[last].ms is not None)
            if done or time.monotonic() > deadline:
                return jobs
            time.sleep(0.2)

    def print_breakdown(self, first: int, last: int, top: int = 12, step_s: float | None = None) -> None:
        """The jobs first..last by kind, the most time first (`top` kinds, then the rest in one
        line); given the step's seconds `step_s`, first how long some job ran and how long none did."""
        jobs = self.jobs(last)
        rows = breakdown(jobs, first, last)
        total = sum(r[2] for r in rows)
        if step_s:
            busy = busy_ms(jobs, first, last) / 1000
            idle = max(0.0, step_s - busy)
            print(
                f"    some Spark job running for {busy:.1f} s of the step's {step_s:.1f} s; none for "
                f"{idle:.1f} s ({idle / step_s:.0%}: the driver alone, planning, committing, in Python)"
            )
        print(f"    Spark job time {total / 1000:.1f} s in {sum(r[1] for r in rows)} jobs, by what they did:")
        for what, n, ms in rows[:top]:
            print(f"    {ms / 1000:6.2f} s {n:4d} job{'s' if n != 1 else ' '}  {what}")
        rest = rows[top:]
        if rest:
            ms, n = sum(r[2] for r in rest), sum(r[1] for r in rest)
            kinds = f"{len(rest)} more kind{'s' if len(rest) != 1 else ''}"
            print(f"    {ms / 1000:6.2f} s {n:4d} job{'s' if n != 1 else ' '}  ({kinds})")

    def print_timeline(self, first: int, last: int) -> None:
        """Every job first..last in start order: start, the driver's gap before it, its time, what."""
        print("    every job in order (start, gap before it with no job running, time, what):")
        for start, gap, ms, what in timeline(self.jobs(last), first, last):
            gap_text = "  side by side" if gap is None else f"{gap:>7d} ms gap"
            took = "?" if ms is None else f"{ms:d}"
            print(f"    {start:>7d} ms {gap_text} {took:>6} ms  {what}")
