"""torchrun with 2 CPU processes (gloo): the same result as 1 process, and one agreed step on SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

OVERRIDES = [
    "recipe=toy/demo", "task.num_train=256", "task.num_eval=64", "model.dim=32", "model.layers=1",
    "model.dropout=0.0", "trainer.max_steps=24", "trainer.batch_size=16", "trainer.eval_every=12",
    "trainer.save_every=12", "trainer.progress_bar=false", "trainer.tensorboard=false", "trainer.lr=2e-3",
    "trainer.bucket_by_length=false",
]


@pytest.mark.slow
def test_two_process_ddp_matches_one_process(tmp_path, cli_env):
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    base = [sys.executable, "-m", "ssl_universal.cli", "train", *OVERRIDES]
    subprocess.run([*base, f"run_dir={single}"], env=cli_env, check=True, capture_output=True, timeout=600)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                "-m", "ssl_universal.cli", "train", *OVERRIDES, f"run_dir={ddp}"]
    done = subprocess.run(launcher, env=cli_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    one = json.loads((single / "results.json").read_text())
    two = json.loads((ddp / "results.json").read_text())
    assert json.loads((ddp / "run_info.json").read_text())["world_size"] == 2
    # Each rank takes half of every global batch and DDP averages the gradients, so the update
    # is the same sum in a different order: only float rounding (~1e-7 per step) separates them.
    # Over 24 Adam steps that stays far below 1e-3 of the loss, and the 64 test predictions match.
    assert two["test"]["loss"] == pytest.approx(one["test"]["loss"], rel=1e-3)
    assert two["test"]["accuracy"] == pytest.approx(one["test"]["accuracy"], abs=100 / 64 + 1e-9)
    # Only rank 0 writes the record, once per step.
    steps = [json.loads(line)["step"] for line in (ddp / "metrics.jsonl").read_text().splitlines()
             if json.loads(line)["split"] == "train"]
    assert steps == sorted(set(steps))


def _worker_of_rank(launcher_pid: int, rank: int, timeout: float = 120.0) -> int:
    """The pid of torchrun's worker process that has RANK=rank in its environment."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        todo, seen = [launcher_pid], []
        while todo:
            pid = todo.pop()
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if f"RANK={rank}".encode() in environ and b"LOCAL_RANK=" + str(rank).encode() in environ:
                return pid
            todo += [int(c) for c in children]
            seen.append(pid)
        time.sleep(0.1)
    raise AssertionError(f"no worker with RANK={rank} under {launcher_pid}")


def _train_steps(run_dir: Path) -> list[int]:
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return [r["step"] for r in records if r["split"] == "train"]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds torchrun's workers through /proc")
def test_sigterm_to_one_rank_stops_every_rank_after_the_same_step(tmp_path, cli_env, results_of):
    """Rank 1 alone is signalled; both ranks save the same step, and the resumed run ends as one never stopped."""
    from safetensors.torch import load_file

    overrides = [*OVERRIDES, "model.dropout=0.1", "trainer.max_steps=60", "trainer.save_every=1000",
                 "trainer.eval_every=30", "trainer.log_every=1"]
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                "-m", "ssl_universal.cli", "train", *overrides]
    reference, stopped = tmp_path / "reference", tmp_path / "stopped"
    done = subprocess.run([*launcher, f"run_dir={reference}"], env=cli_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    proc = subprocess.Popen([*launcher, f"run_dir={stopped}"], env=cli_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    rank1 = _worker_of_rank(proc.pid, 1)
    deadline = time.time() + 300
    while len(_train_steps(stopped)) < 5 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    os.kill(rank1, signal.SIGTERM)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode != 0 and "exitcode  : 75" in output, output[-3000:]
    folders = sorted(p.name for p in (stopped / "checkpoints").glob("step_*"))
    assert len(folders) == 1, folders  # one agreed step, saved once
    step = int(folders[0].split("_")[1])
    assert 5 <= step < 60 and _train_steps(stopped)[-1] == step
    state = torch.load(stopped / "checkpoints" / folders[0] / "trainer_state.pt", weights_only=True)
    per_rank = state["rng_per_rank"]
    assert len(per_rank) == 2 and not torch.equal(per_rank[0]["global"]["torch"], per_rank[1]["global"]["torch"])

    done = subprocess.run([*launcher, f"run_dir={stopped}"], env=cli_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert results_of(stopped / "results.json") == results_of(reference / "results.json")
    final = "checkpoints/step_00000060/model.safetensors"
    ref, res = load_file(reference / final), load_file(stopped / final)
    assert all(torch.equal(ref[k], res[k]) for k in ref)
