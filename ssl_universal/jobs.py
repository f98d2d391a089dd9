"""Independent jobs (training runs) side by side on worker processes: ``--jobs N`` of sweeps and table verbs.

A CPU run of one thread keeps one core busy; on a machine with C cores, N <= C such runs side by side finish about N
times as many runs in the same wall time (measured in docs/benchmarks.md, "Runs side by side"). With ``workers=1``
the jobs run in this process, in order, as a plain loop would. With more, each job runs in a fresh process
(``spawn``: nothing of the parent's torch state is shared), its log and printed output go to the job's own log file,
and the caller sees one line per finished job. A job that fails does not stop the others already running; the jobs
not yet started are cancelled, and :class:`JobsFailed` names every failed job, its error and its log file.

A job is a module-level function and its arguments (they cross a process boundary, so they must pickle).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, SSLUniversalError


@dataclass(frozen=True)
class Job:
    """One unit of work: ``fn(*args, **kwargs)``; ``log_file`` receives its log when it runs in a worker."""

    name: str
    fn: Callable[..., Any]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    log_file: Path | None = None


class JobsFailed(SSLUniversalError):
    """One or more jobs raised; the message lists each with its error and log file."""


class _WorkerError(Exception):
    """What a worker sends back when its job raised: the error's text and traceback (any exception, picklable)."""


def run_jobs(jobs: Sequence[Job], workers: int = 1, on_done: Callable[[int, Job, Any], None] | None = None) -> list[Any]:
    """The results of ``jobs`` in their order. ``on_done(index, job, result)`` is called in this process as each
    job finishes (in completion order when ``workers > 1``)."""
    if workers < 1:
        raise ConfigError(f"jobs: the number of workers must be >= 1, got {workers}")
    results: list[Any] = [None] * len(jobs)
    if workers == 1 or len(jobs) <= 1:
        for index, job in enumerate(jobs):
            results[index] = job.fn(*job.args, **job.kwargs)
            if on_done:
                on_done(index, job, results[index])
        return results
    for job in jobs:
        if job.log_file is None:
            raise ConfigError(f"jobs: job {job.name!r} has no log_file; side-by-side jobs each need one")
    print(f"{len(jobs)} jobs on {min(workers, len(jobs))} worker processes; each job's log: "
          f"{jobs[0].log_file.parent}/…", flush=True)
    failures: list[str] = []
    finished = 0
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context, max_tasks_per_child=1) as pool:
        pending = {pool.submit(_run_in_worker, job): index for index, job in enumerate(jobs)}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                index = pending.pop(future)
                job = jobs[index]
                finished += 1
                try:
                    results[index], seconds = future.result()
                except Exception as err:  # noqa: BLE001 - every failure is reported below, none is dropped
                    failures.append(f"{job.name}: {err} (log: {job.log_file})")
                    print(f"[{finished}/{len(jobs)}] FAILED {job.name} (log: {job.log_file})", flush=True)
                    if len(failures) == 1:  # the queued jobs are not started; the running ones finish
                        for other in pending:
                            other.cancel()
                    continue
                print(f"[{finished}/{len(jobs)}] done {job.name} ({seconds:.0f} s)", flush=True)
                if on_done:
                    on_done(index, job, results[index])
            pending = {f: i for f, i in pending.items() if not f.cancelled()}
    if failures:
        cancelled = len(jobs) - finished
        raise JobsFailed(f"{len(failures)} of {len(jobs)} jobs failed"
                         + (f" ({cancelled} not started)" if cancelled else "") + ":\n  " + "\n  ".join(failures))
    return results


def _run_in_worker(job: Job) -> tuple[Any, float]:
    """In a fresh worker process: the job with its log (and printed output) in its log file; (result, seconds)."""
    from .cli import LOG_DATE_FORMAT, LOG_FORMAT  # the console's format, in the log file

    job.log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(job.log_file, "a", encoding="utf-8") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        root = logging.getLogger()
        for handler in list(root.handlers):
            root.removeHandler(handler)
        handler = logging.StreamHandler(log)
        handler.setFormatter(logging.Formatter(LOG_FORMAT, datefmt=LOG_DATE_FORMAT))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        start = time.perf_counter()
        try:
            result = job.fn(*job.args, **job.kwargs)
        except BaseException as err:  # noqa: BLE001 - any error, SystemExit included, goes back as text
            text = "".join(traceback.format_exception(err))
            print(text, file=log, flush=True)
            raise _WorkerError(f"{type(err).__name__}: {err}") from None
        finally:
            sys.stdout.flush()
        return result, time.perf_counter() - start


def train_job(overrides: list[str], run_dir: str) -> dict[str, Any]:
    """A job that trains one run: ``load_config(overrides)`` into ``run_dir``; its ``results.json`` contents."""
    from omegaconf import OmegaConf

    from .config import load_config
    from .run import train

    cfg = load_config(overrides)
    OmegaConf.set_struct(cfg, False)
    cfg.run_dir = str(run_dir)
    return train(cfg)
