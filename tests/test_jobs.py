"""Jobs side by side (``ssl_universal.jobs``, ``train -m --jobs N``): results in order, logs per job, failures named."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ssl_universal.errors import ConfigError, DataError
from ssl_universal.jobs import Job, JobsFailed, run_jobs


def square(x: int) -> int:
    return x * x


def meet(own: str, other: str, value: int) -> int:
    """Write ``own``, then wait for ``other``: returns only if the two jobs ran at the same time."""
    Path(own).write_text("here")
    logging.getLogger("ssl_universal").info("job %s is running", value)
    print(f"printed by job {value}")
    deadline = time.monotonic() + 120
    while not Path(other).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{other} never appeared: the jobs did not run side by side")
        time.sleep(0.05)
    return value


def broken(path: str) -> None:
    raise DataError(f"{path}: line 3: expected 2 columns")


def test_one_worker_runs_in_order_in_this_process():
    seen = []
    results = run_jobs([Job(f"square {i}", square, (i,)) for i in range(4)], 1, on_done=lambda i, job, r: seen.append(i))
    assert results == [0, 1, 4, 9] and seen == [0, 1, 2, 3]


def test_two_workers_run_side_by_side_with_a_log_each(tmp_path):
    a, b = tmp_path / "a.flag", tmp_path / "b.flag"
    jobs = [Job("first", meet, (str(a), str(b), 1), log_file=tmp_path / "first.log"),
            Job("second", meet, (str(b), str(a), 2), log_file=tmp_path / "second.log")]
    done = []
    assert run_jobs(jobs, 2, on_done=lambda i, job, r: done.append((i, r))) == [1, 2]
    assert sorted(done) == [(0, 1), (1, 2)]
    first = (tmp_path / "first.log").read_text()
    assert "job 1 is running" in first and "printed by job 1" in first and "job 2" not in first


def test_a_failed_job_is_named_with_its_error_and_log_and_the_others_finish(tmp_path):
    jobs = [Job("bad data", broken, ("x.tsv",), log_file=tmp_path / "bad.log"),
            Job("fine", square, (3,), log_file=tmp_path / "fine.log")]
    with pytest.raises(JobsFailed) as err:
        run_jobs(jobs, 2)
    message = str(err.value)
    assert "1 of 2 jobs failed" in message and "bad data" in message and "x.tsv: line 3: expected 2 columns" in message
    assert str(tmp_path / "bad.log") in message
    assert "Traceback" in (tmp_path / "bad.log").read_text()


def test_side_by_side_jobs_need_log_files_and_a_positive_count():
    with pytest.raises(ConfigError, match="no log_file"):
        run_jobs([Job("a", square, (1,)), Job("b", square, (2,))], 2)
    with pytest.raises(ConfigError, match=">= 1"):
        run_jobs([Job("a", square, (1,))], 0)


def test_a_sweep_runs_side_by_side_and_lists_every_run(cli_env, tmp_path):
    from tests.conftest import TOY_OVERRIDES

    small = [o for o in TOY_OVERRIDES if not o.startswith(("trainer.max_steps", "trainer.eval_every", "trainer.save_every"))]
    sweep = tmp_path / "sweep"
    command = [sys.executable, "-m", "ssl_universal.cli", "train", "-m", *small, "trainer.max_steps=4",
               "trainer.warmup_steps=1", "trainer.eval_every=2", "trainer.save_every=2", "seed=0,1",
               "--jobs", "2", "--sweep-dir", str(sweep)]
    out = subprocess.run(command, env=cli_env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=True).stdout
    assert "2 jobs on 2 worker processes" in out and out.count("] done ") == 2
    runs = json.loads((sweep / "sweep.json").read_text())["runs"]
    assert [r["run_dir"] for r in runs] == ["000_seed=0", "001_seed=1"]  # sweep order, not finish order
    for run in runs:
        assert (sweep / run["run_dir"] / "results.json").is_file()
        assert "run finished" in (sweep / f"{run['run_dir']}.log").read_text()
    one_by_one = tmp_path / "one_by_one"
    subprocess.run([*command[:-4], "--sweep-dir", str(one_by_one)], env=cli_env, cwd=tmp_path, capture_output=True,
                   text=True, timeout=300, check=True)
    alone = json.loads((one_by_one / "sweep.json").read_text())["runs"]
    assert [r["test"] for r in alone] == [r["test"] for r in runs]  # side by side changes no number


def test_jobs_without_a_multirun_is_refused():
    from ssl_universal.cli import cmd_train

    with pytest.raises(ConfigError, match="needs -m"):
        cmd_train(["recipe=dna/splice", "--jobs", "2"])
    with pytest.raises(ConfigError, match="--jobs must be >= 1"):
        cmd_train(["-m", "recipe=dna/splice", "seed=0,1", "--jobs", "0"])
