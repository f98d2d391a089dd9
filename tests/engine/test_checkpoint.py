"""Checkpoints: atomic saves, weights-only loading, and resume after a real SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ssl_universal.engine import checkpoint as ckpt
from ssl_universal.errors import CheckpointError


def _save(root, step, value):
    weights = {"w": torch.full((3,), float(value))}
    state = {"step": step, "rng": ckpt.rng_state(), "nested": {"list": [1, 2.5, None]}}
    return ckpt.save_checkpoint(root, step, weights, state, {"note": "x"}, keep_last=2)


def test_save_load_round_trip_and_pruning(tmp_path):
    for step in (10, 20, 30):
        _save(tmp_path, step, step)
    assert sorted(p.name for p in tmp_path.glob("step_*")) == ["step_00000020", "step_00000030"]
    weights, state, meta = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path))
    assert weights["w"].tolist() == [30.0] * 3 and state["step"] == 30 and meta["step"] == 30


def test_kill_during_save_leaves_latest_readable(tmp_path, monkeypatch):
    _save(tmp_path, 10, 1.0)

    def dies_midway(state_dict, path):  # the process "dies" after a partial write
        Path(path).write_bytes(b"\x00partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt, "save_weights", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        _save(tmp_path, 20, 2.0)
    monkeypatch.undo()
    latest = ckpt.latest_checkpoint(tmp_path)
    assert latest.name == "step_00000010"
    assert ckpt.load_checkpoint(latest)[0]["w"].tolist() == [1.0] * 3
    _save(tmp_path, 20, 2.0)  # the next save cleans the leftover and succeeds
    assert not list(tmp_path.glob(".tmp_*"))
    assert ckpt.latest_checkpoint(tmp_path).name == "step_00000020"


def test_incomplete_checkpoint_is_refused_by_name(tmp_path):
    folder = tmp_path / "step_00000005"
    folder.mkdir()
    (folder / ckpt.MODEL_FILE).write_bytes(b"")
    with pytest.raises(CheckpointError, match="incomplete: missing trainer_state.pt, meta.json"):
        ckpt.load_checkpoint(folder)
    assert ckpt.latest_checkpoint(tmp_path) is None


def test_loading_never_unpickles_arbitrary_objects(tmp_path):
    _save(tmp_path, 10, 1.0)
    folder = ckpt.latest_checkpoint(tmp_path)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    torch.save({"evil": Evil()}, folder / ckpt.STATE_FILE)
    with pytest.raises(Exception, match="[Ww]eights only"):
        ckpt.load_checkpoint(folder)


def test_damaged_files_are_checkpoint_errors_naming_the_file(tmp_path):
    folder = _save(tmp_path, 10, 1.0)
    model = folder / ckpt.MODEL_FILE
    model.write_bytes(model.read_bytes()[:20])  # truncated, as by a full disk
    with pytest.raises(CheckpointError, match=rf"{model}: cannot be read .*delete the folder {folder}"):
        ckpt.load_checkpoint(folder)
    folder = _save(tmp_path, 20, 2.0)
    (folder / ckpt.STATE_FILE).write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match=rf"{folder / ckpt.STATE_FILE}: cannot be read"):
        ckpt.load_checkpoint(folder)
    (folder / ckpt.META_FILE).write_text("{")
    _save(tmp_path, 30, 3.0)
    assert [p.name for p in ckpt.complete_checkpoints(tmp_path)] == ["step_00000030", "step_00000020"]


def test_a_save_cleans_what_killed_writes_left(tmp_path):
    _save(tmp_path, 10, 1.0)
    (tmp_path / ".latest.tmp4242").write_text("step_00000")
    (tmp_path / ".tmp_step_00000020_4242").mkdir()
    _save(tmp_path, 20, 2.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "step_00000010", "step_00000020"]


def test_a_save_replaces_a_stale_folder_of_its_step_and_drops_newer_ones(tmp_path):
    """After a fallback to step 10 the abandoned steps 20 and 30 must not be served as this run's."""
    for step in (10, 20, 30):
        _save(tmp_path, step, 100 + step)
    _save(tmp_path, 20, 2.0)
    assert [p.name for p in ckpt.complete_checkpoints(tmp_path)] == ["step_00000020"]  # 10 was pruned by 30
    assert (tmp_path / ckpt.LATEST).read_text() == "step_00000020"
    assert ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path))[0]["w"].tolist() == [2.0] * 3


def test_rng_state_round_trip():
    import random

    import numpy as np

    state = ckpt.rng_state()
    a = (torch.rand(3), np.random.rand(3), random.random())
    ckpt.set_rng_state(state)
    b = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and (a[1] == b[1]).all() and a[2] == b[2]


RESUME_OVERRIDES = [
    "recipe=toy/demo", "task.num_train=256", "task.num_eval=64", "model.dim=64", "model.layers=2",
    "model.dropout=0.1", "trainer.max_steps=90", "trainer.batch_size=16", "trainer.grad_accum_steps=2",
    "trainer.eval_every=20", "trainer.save_every=10", "trainer.log_every=10", "trainer.progress_bar=false",
    "trainer.tensorboard=false", "trainer.lr=1e-3",
]


def _without_timing(path):
    drop = {"examples_per_s", "tokens_per_s"}
    return [{k: v for k, v in json.loads(line).items() if k not in drop} for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_resume_after_sigkill_is_bit_identical(tmp_path, cli_env, results_of):
    """Kill -9 a run mid-training, resume it, and compare with a run never stopped."""
    command = [sys.executable, "-m", "ssl_universal.cli", "train", *RESUME_OVERRIDES]
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    subprocess.run([*command, f"run_dir={reference}"], env=cli_env, check=True, capture_output=True, timeout=600)

    proc = subprocess.Popen([*command, f"run_dir={killed}"], env=cli_env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    latest = killed / "checkpoints" / "latest"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if latest.is_file() and latest.read_text().strip() >= "step_00000030":
            break
        time.sleep(0.02)
    time.sleep(0.15)  # land somewhere between checkpoints
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "results.json").exists(), "the run finished before it could be killed"
    killed_at = latest.read_text().strip()

    subprocess.run([*command, f"run_dir={killed}"], env=cli_env, check=True, capture_output=True, timeout=600)

    assert killed_at < "step_00000090"
    ref_results = results_of(reference / "results.json")
    res_results = results_of(killed / "results.json")
    assert res_results == ref_results
    ref_w, res_w = load_file(reference / "best" / "model.safetensors"), load_file(killed / "best" / "model.safetensors")
    assert all(torch.equal(ref_w[k], res_w[k]) for k in ref_w)
    final = "checkpoints/step_00000090/model.safetensors"
    ref_f, res_f = load_file(reference / final), load_file(killed / final)
    assert all(torch.equal(ref_f[k], res_f[k]) for k in ref_f)
    assert _without_timing(killed / "metrics.jsonl") == _without_timing(reference / "metrics.jsonl")
