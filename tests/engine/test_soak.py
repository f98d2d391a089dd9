"""Soak: a run killed (SIGKILL) and stopped (SIGTERM) many times ends exactly as one never stopped.

Each attempt is ``ssl-universal train`` in a process forked from a server that has already
imported torch and the framework, so a dozen resumes take seconds, not a minute of imports;
the run itself starts from nothing in every child (config, task, model, checkpoint), as a
fresh command does.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ssl_universal.engine import checkpoint as ckpt
from ssl_universal.errors import EXIT_INTERRUPTED
from ssl_universal.run_folder import LOCK_FILE

MAX_STEPS = 160

SERVER = r'''
import json, os, sys
import torch
torch.set_num_threads(1)
from ssl_universal import cli, run  # noqa: F401 - the imports a command makes, done once here
from ssl_universal.plugins import load_plugins
load_plugins()
torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))])  # the first optimizer imports torch._dynamo: once, here
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        sys.argv = ["ssl-universal", "train", *request["overrides"]]  # what the resume hint repeats
        try:
            code = cli.main(sys.argv[1:])
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    print(json.dumps({"pid": pid}), flush=True)
    print(json.dumps({"exit": os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])}), flush=True)
'''


class Launcher:
    """Starts ``ssl-universal train`` runs as children of one pre-imported server process."""

    def __init__(self, env: dict, logs: Path):
        self.server = subprocess.Popen([sys.executable, "-c", SERVER], env=env, stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True)
        assert json.loads(self.server.stdout.readline()) == {"ready": True}
        self.logs, self.count = logs, 0

    def start(self, overrides: list[str]) -> int:
        self.count += 1
        log = self.logs / f"attempt_{self.count:02d}.log"
        self.server.stdin.write(json.dumps({"overrides": overrides, "log": str(log)}) + "\n")
        self.server.stdin.flush()
        return json.loads(self.server.stdout.readline())["pid"]

    def wait(self) -> int:
        return json.loads(self.server.stdout.readline())["exit"]

    def exited(self) -> bool:
        """Whether the current attempt has ended (the server then reports its status)."""
        return bool(select.select([self.server.stdout], [], [], 0)[0])

    def log(self) -> str:
        return (self.logs / f"attempt_{self.count:02d}.log").read_text()

    def close(self) -> None:
        self.server.stdin.close()
        self.server.wait(timeout=30)


def _newest_step(run_dir: Path) -> int:
    newest = ckpt.latest_checkpoint(run_dir / "checkpoints")
    return int(newest.name.split("_")[1]) if newest else 0


def _last_logged_step(run_dir: Path) -> int:
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return 0
    steps = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line being written
        if record["split"] == "train":
            steps.append(record["step"])
    return max(steps, default=0)


def _wait_until(condition, what: str, launcher: Launcher, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if launcher.exited():
            raise AssertionError(f"the attempt ended before {what}:\n{launcher.log()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.002)


def _same(a, b, where: str = "") -> list[str]:
    """Paths at which two checkpoint states differ (tensors bit for bit)."""
    if torch.is_tensor(a) or torch.is_tensor(b):
        ok = torch.is_tensor(a) and torch.is_tensor(b) and a.dtype == b.dtype and torch.equal(a, b)
        return [] if ok else [where]
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where} keys {sorted(map(str, a))} != {sorted(map(str, b))}"]
        return [d for k in a for d in _same(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{where} length {len(a)} != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _same(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def _without_timing(path: Path) -> list[dict]:
    drop = {"examples_per_s", "tokens_per_s"}
    return [{k: v for k, v in json.loads(line).items() if k not in drop} for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_many_kills_and_stops_end_as_an_uninterrupted_run(tmp_path, drawing_env, drawing_overrides, results_of):
    overrides = [*drawing_overrides, f"trainer.max_steps={MAX_STEPS}"]
    seed = int(os.environ.get("SOAK_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    note = f"(SOAK_SEED={seed}; attempt logs in {tmp_path / 'logs'})"
    (tmp_path / "logs").mkdir()
    launcher = Launcher(drawing_env, tmp_path / "logs")
    reference, soaked = tmp_path / "reference", tmp_path / "soaked"
    try:
        launcher.start([*overrides, f"run_dir={reference}"])
        assert launcher.wait() == 0, note

        # 2 kills at any moment from the start (building, loading, the first steps), 3 while a checkpoint
        # is being written, 7 anywhere in training (some inside a save too), and 2 SIGTERMs; then one
        # run to the end.
        plan = ["kill-early"] * 2 + ["kill-in-save"] * 3 + ["kill"] * 7 + ["term"] * 2
        rng.shuffle(plan)
        plan.append("finish")
        command = [*overrides, f"run_dir={soaked}"]
        for number, action in enumerate(plan, 1):
            resumed_at = _newest_step(soaked)
            pid = launcher.start(command)
            if action == "finish":
                assert launcher.wait() == 0, f"the last attempt failed {note}"
                break
            if action == "kill-early":
                time.sleep(rng.uniform(0.0, 0.3))  # the child builds the task and model and loads the checkpoint
            else:
                # Somewhere after the run has saved once more: k logged steps later, plus a fraction of one.
                _wait_until(lambda at=resumed_at: _newest_step(soaked) > at, f"attempt {number} saves {note}", launcher)
                target = _last_logged_step(soaked) + rng.randint(0, 5)
                _wait_until(lambda to=target: _last_logged_step(soaked) >= to, f"attempt {number} trains on {note}",
                            launcher)
                time.sleep(rng.uniform(0.0, 0.03))
                if action == "kill-in-save":
                    _wait_until(lambda: any((soaked / "checkpoints").glob(".tmp_step_*")),
                                f"attempt {number} writes a checkpoint {note}", launcher)
            assert not (soaked / "results.json").exists(), f"the run finished before attempt {number} {note}"
            signalled_at = _last_logged_step(soaked)
            os.kill(pid, signal.SIGTERM if action == "term" else signal.SIGKILL)
            status = launcher.wait()
            if action == "term":
                assert status == EXIT_INTERRUPTED, f"SIGTERM attempt {number} exited with {status} {note}"
                saved = _newest_step(soaked)
                # No completed step is lost: the checkpoint is of the last step the run logged.
                assert saved == _last_logged_step(soaked) >= signalled_at, note
                log = launcher.log()
                assert f"stopped by SIGTERM after step {saved}" in log, log[-2000:]
                assert f"to resume, run: ssl-universal train {' '.join(command)}" in log, log[-2000:]
            else:
                assert status == -signal.SIGKILL, f"attempt {number} exited with {status} {note}"
    finally:
        launcher.close()

    assert results_of(soaked / "results.json") == results_of(reference / "results.json")
    final = ckpt.checkpoint_name(MAX_STEPS)
    for name in (f"checkpoints/{final}/{ckpt.MODEL_FILE}", f"best/{ckpt.MODEL_FILE}"):
        assert not _same(load_file(reference / name), load_file(soaked / name)), f"{name} differs {note}"
    state = {run: torch.load(run / "checkpoints" / final / ckpt.STATE_FILE, weights_only=True) for run in (reference, soaked)}
    for one in state.values():  # seconds spent are the one thing the two runs need not share
        one["progress"] = {k: v for k, v in one["progress"].items() if k not in ("wall_s", "cpu_s")}
    # Optimizer, scheduler, progress and every RNG (Python, NumPy, torch, the task's own) bit for bit.
    assert not _same(state[reference], state[soaked]), f"{_same(state[reference], state[soaked])[:5]} {note}"
    assert set(state[soaked]["rng_per_rank"][0]["global"]) >= {"torch", "numpy", "python"}
    assert state[soaked]["rng_per_rank"][0]["task"]["own"]["bit_generator"] == "PCG64"
    assert _without_timing(soaked / "metrics.jsonl") == _without_timing(reference / "metrics.jsonl"), note
    leftovers = [p.relative_to(soaked) for p in soaked.rglob("*")
                 if (".tmp" in p.name or p.name.startswith(".")) and p.name != LOCK_FILE]  # the lock stays by design
    assert not leftovers, f"temporary files left behind: {leftovers} {note}"
