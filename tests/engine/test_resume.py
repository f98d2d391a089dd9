"""Resuming: fallback past damaged checkpoints, a task's own RNG restored, SIGTERM/SIGINT stop with a checkpoint."""

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from ssl_universal.engine import checkpoint as ckpt
from ssl_universal.engine.signals import stop_signals
from ssl_universal.engine.trainer import Trainer
from ssl_universal.errors import EXIT_INTERRUPTED, CheckpointError, TrainingInterrupted
from ssl_universal.run import build, seed_everything


def _trainer(cfg, run_dir=None) -> Trainer:
    seed_everything(cfg.seed)
    task, model = build(cfg)
    seed_everything(cfg.seed)
    return Trainer(OmegaConf.to_object(cfg.trainer), task, model, run_dir or cfg.run_dir, seed=cfg.seed)


def _steps(run_dir) -> list[int]:
    lines = (Path(run_dir) / "metrics.jsonl").read_text().splitlines()
    return [r["step"] for r in map(json.loads, lines) if r["split"] == "train"]


def test_resume_falls_back_past_a_damaged_checkpoint(drawing_config, caplog):
    cfg = drawing_config("trainer.max_steps=20", "trainer.save_every=10", "trainer.eval_every=10")
    _trainer(cfg).fit()
    newest = Path(cfg.run_dir) / "checkpoints" / "step_00000020"
    (newest / ckpt.MODEL_FILE).write_bytes((newest / ckpt.MODEL_FILE).read_bytes()[:100])
    trainer = _trainer(cfg)
    with caplog.at_level(logging.WARNING, logger="ssl_universal"):
        assert trainer.resume()
    assert trainer.progress.step == 10 and trainer.resumed_from.name == "step_00000010"
    assert f"cannot resume from {newest}: {newest / ckpt.MODEL_FILE}: cannot be read" in caplog.text
    assert "resuming from step_00000010, the newest checkpoint that loads (skipped 1 newer: step_00000020)" in caplog.text
    results = trainer.fit()  # trains steps 11-20 again, replacing the damaged folder
    assert results["steps"] == 20 and ckpt.load_checkpoint(newest)[2]["step"] == 20


def test_no_loadable_checkpoint_is_one_error_naming_each(drawing_config):
    _trainer(drawing_config("trainer.max_steps=20", "trainer.save_every=10")).fit()
    other_shape = _trainer(drawing_config("trainer.max_steps=20", "model.dim=24"))
    with pytest.raises(CheckpointError) as info:
        other_shape.resume()
    message = str(info.value)
    assert "none of the 2 checkpoints loads into this run" in message and "nothing in" in message
    for step in ("step_00000020", "step_00000010"):
        assert f"{step}: " in message and f"{step}/{ckpt.MODEL_FILE}: the weights do not fit" in message
    assert "resume=false replace=true" in message and "new run_dir" in message


def test_a_tasks_own_generator_is_saved_and_restored(drawing_config):
    cfg = drawing_config("trainer.max_steps=6", "trainer.save_every=3")
    trainer = _trainer(cfg)
    trainer.fit()
    state = torch.load(Path(cfg.run_dir) / "checkpoints/step_00000006" / ckpt.STATE_FILE, weights_only=True)
    saved = state["rng_per_rank"][0]["task"]["own"]
    fresh = _trainer(cfg)
    assert fresh.task.own.bit_generator.state != saved
    fresh.task.load_rng_state(state["rng_per_rank"][0]["task"])
    assert fresh.task.own.bit_generator.state == saved


def _signal_on_loss_call(task, call: int, signum: int, times: int = 1) -> None:
    """Send ``signum`` to this process during the ``call``-th training loss (evaluation's are not counted)."""
    original, calls = task.loss, {"n": 0}

    def loss(model, batch):
        calls["n"] += torch.is_grad_enabled()
        if calls["n"] == call and torch.is_grad_enabled():
            for _ in range(times):
                os.kill(os.getpid(), signum)
        return original(model, batch)

    task.loss = loss


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_finishes_the_step_checkpoints_it_and_resumes_exactly(drawing_config, tmp_path, signum, results_of):
    cfg = drawing_config("trainer.max_steps=30", "trainer.save_every=10")
    reference = _trainer(cfg, tmp_path / "reference")
    reference.fit()
    trainer = _trainer(cfg)
    _signal_on_loss_call(trainer.task, 23, signum)  # step 12's first micro-batch (2 per step)
    previous = signal.getsignal(signum)
    with pytest.raises(TrainingInterrupted) as info:
        trainer.fit()
    assert signal.getsignal(signum) is previous  # the handlers are put back
    stop = info.value
    assert stop.code == EXIT_INTERRUPTED and stop.step == 12 and stop.checkpoint == "step_00000012"
    assert f"stopped by {signal.Signals(signum).name} after step 12 of 30" in str(stop)
    assert _steps(cfg.run_dir)[-1] == 12  # no completed step is lost
    assert ckpt.latest_checkpoint(Path(cfg.run_dir) / "checkpoints").name == "step_00000012"
    assert not (Path(cfg.run_dir) / "results.json").exists()

    resumed = _trainer(cfg)
    assert {k: v for k, v in resumed.fit().items() if k != "timing"} == results_of(tmp_path / "reference" / "results.json")
    assert all(torch.equal(a, b) for a, b in zip(resumed.model.state_dict().values(),
                                                 reference.model.state_dict().values()))
    assert _steps(cfg.run_dir) == list(range(1, 31))


def test_a_signal_while_starting_stops_at_once_and_handlers_come_back():
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(TrainingInterrupted, match="while starting, before training began") as info:
        with stop_signals() as outer, stop_signals() as inner:
            assert outer is inner and signal.getsignal(signal.SIGTERM) == outer.handle
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises before this ends
    assert info.value.code == EXIT_INTERRUPTED and info.value.checkpoint is None
    assert signal.getsignal(signal.SIGTERM) is previous


SECOND_SIGNAL = """
import os, signal, sys
from omegaconf import OmegaConf
from ssl_universal.config import load_config
from ssl_universal.engine.trainer import Trainer
from ssl_universal.run import build
cfg = load_config(sys.argv[1:])
task, model = build(cfg)
original, calls = task.loss, {"n": 0}
def loss(model, batch):
    calls["n"] += 1
    if calls["n"] == 9:
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
    return original(model, batch)
task.loss = loss
Trainer(OmegaConf.to_object(cfg.trainer), task, model, cfg.run_dir).fit()
"""


@pytest.mark.slow
def test_a_second_signal_exits_at_once(drawing_env, drawing_overrides, tmp_path):
    run_dir = tmp_path / "run"
    done = subprocess.run([sys.executable, "-c", SECOND_SIGNAL, *drawing_overrides, "trainer.max_steps=30",
                           "trainer.save_every=3", f"run_dir={run_dir}"],
                          env=drawing_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 128 + signal.SIGINT, done.stderr[-3000:]
    assert "second stop signal (SIGINT): exiting at once" in done.stderr
    assert "Traceback" not in done.stderr
    assert ckpt.latest_checkpoint(run_dir / "checkpoints").name == "step_00000003"  # no save after the signals


def test_an_early_stopped_run_stays_stopped_when_run_again(drawing_config):
    cfg = drawing_config("trainer.lr=1e-9", "trainer.warmup_steps=0", "trainer.max_steps=200", "trainer.eval_every=5",
                         "trainer.early_stopping_patience=1", "trainer.save_every=5")
    first = _trainer(cfg).fit()
    assert first["stopped"] == "early_stopping" and first["steps"] < 200
    again = _trainer(cfg)
    untimed = lambda results: {k: v for k, v in results.items() if k != "timing"}  # noqa: E731 - seconds differ
    assert untimed(again.fit()) == untimed(first) and again.progress.step == first["steps"]  # no step after the stop
