"""The engine on a toy task: learning, bf16 on CPU, accumulation, early stopping, NaN handling."""

import json
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from ssl_universal.data.batching import BatchPlan
from ssl_universal.engine.trainer import Trainer
from ssl_universal.errors import NonFiniteLossError
from ssl_universal.run import build, seed_everything, train


def _records(run_dir, split):
    lines = (Path(run_dir) / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["split"] == split]


def test_training_lowers_loss_and_beats_chance(toy_config):
    cfg = toy_config("trainer.max_steps=60", "trainer.lr=2e-3")
    results = train(cfg)
    losses = [r["loss"] for r in _records(cfg.run_dir, "train")]
    assert losses[-1] < 0.8 * losses[0]
    assert results["test"]["accuracy"] > 65.0  # balanced-ish binary task: chance is about 50
    for name in ("config.yaml", "run_info.json", "results.json", "best/model.safetensors", "checkpoints/latest"):
        assert (Path(cfg.run_dir) / name).exists(), name
    info = json.loads((Path(cfg.run_dir) / "run_info.json").read_text())
    assert info["version"] and "framework_commit" in info and "working_dir_commit" in info
    assert OmegaConf.load(Path(cfg.run_dir) / "config.yaml").trainer.max_steps == 60


def test_bf16_autocast_trains_on_cpu(toy_config):
    cfg = toy_config("trainer.precision=bf16", "trainer.max_steps=40", "trainer.lr=2e-3")
    seen = []
    task, model = build(cfg)
    original = task.loss

    def spy(model_, batch):
        loss, out = original(model_, batch)
        seen.append(out["logits"].dtype)
        return loss, out

    task.loss = spy
    trainer = Trainer(OmegaConf.to_object(cfg.trainer), task, model, cfg.run_dir, seed=cfg.seed)
    results = trainer.fit()
    assert torch.bfloat16 in seen  # autocast really ran the matmuls in bf16
    assert results["best"]["accuracy"] > 60.0


def test_gradient_accumulation_matches_the_large_batch(toy_config, tmp_path, monkeypatch):
    # Fixed batches: every plan keeps the data order, so two micro-batches of 8 hold exactly the examples
    # of one batch of 16. SGD, not AdamW: Adam divides the gradient's scale away, so it would not notice
    # a missing division by grad_accum_steps.
    plan_init = BatchPlan.__init__
    monkeypatch.setattr(BatchPlan, "__init__", lambda self, *a, **kw: plan_init(self, *a, **{**kw, "shuffle": False}))

    def final_weights(name, *overrides):
        cfg = toy_config("trainer.max_steps=5", "model.dropout=0.0", "trainer.eval_every=100", "trainer.save_every=100",
                         "trainer.optimizer=sgd", "trainer.lr=0.1", "trainer.warmup_steps=2", f"run_dir={tmp_path / name}",
                         "trainer.bucket_by_length=false", "trainer.clip_grad_norm=null", *overrides)
        seed_everything(cfg.seed)
        task, model = build(cfg)
        Trainer(OmegaConf.to_object(cfg.trainer), task, model, cfg.run_dir, seed=cfg.seed).fit()
        return model.state_dict()

    big = final_weights("big", "trainer.batch_size=16")
    accumulated = final_weights("accumulated", "trainer.batch_size=8", "trainer.grad_accum_steps=2")
    plain_small = final_weights("small", "trainer.batch_size=8")
    for name, weight in big.items():
        torch.testing.assert_close(accumulated[name], weight, rtol=1e-5, atol=1e-6, msg=lambda m, n=name: f"{n}: {m}")
    # The comparison has teeth: optimizer steps on batches of 8 end far from the big batch's weights.
    assert max((big[k] - plain_small[k]).abs().max().item() for k in big) > 1e-3


def test_early_stopping_stops_and_keeps_the_best(toy_config):
    # lr 1e-12 (effectively 0) never improves after the first eval, so patience 2 stops after 3 evals.
    cfg = toy_config("trainer.lr=1e-12", "trainer.max_steps=100", "trainer.early_stopping_patience=2",
                     "trainer.warmup_steps=0")
    results = train(cfg)
    assert results["stopped"] == "early_stopping"
    assert results["steps"] == 30 and results["best_step"] == 10


def _nan_on(task, bad_calls):
    original, calls = task.loss, {"n": 0}

    def loss(model, batch):
        calls["n"] += 1
        value, out = original(model, batch)
        if calls["n"] in bad_calls:
            value = value * float("nan")
        return value, out

    task.loss = loss


def test_nonfinite_losses_are_skipped_and_counted(toy_config):
    cfg = toy_config("trainer.max_steps=20")
    task, model = build(cfg)
    _nan_on(task, {3, 7})
    trainer = Trainer(OmegaConf.to_object(cfg.trainer), task, model, cfg.run_dir, seed=cfg.seed)
    results = trainer.fit()
    assert results["nonfinite_skipped"] == 2
    assert results["steps"] == 20
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_too_many_nonfinite_losses_stop_with_a_clear_error(toy_config):
    cfg = toy_config("trainer.max_steps=20", "trainer.max_nonfinite_steps=2")
    task, model = build(cfg)
    _nan_on(task, {2, 4, 6, 8})
    trainer = Trainer(OmegaConf.to_object(cfg.trainer), task, model, cfg.run_dir, seed=cfg.seed)
    with pytest.raises(NonFiniteLossError, match="max_nonfinite_steps=2.*lower trainer.lr"):
        trainer.fit()


def test_token_budget_batches(toy_config):
    cfg = toy_config("trainer.max_tokens=256", "trainer.max_steps=20")
    task, model = build(cfg)
    sizes = []
    original = task.collate

    def collate(examples):
        batch = original(examples)
        sizes.append(batch["input_ids"].numel())
        return batch

    task.collate = collate
    Trainer(OmegaConf.to_object(cfg.trainer), task, model, cfg.run_dir, seed=cfg.seed).fit()
    assert sizes and max(sizes) <= 256


def test_eval_command_scores_a_finished_run(toy_config, cli):
    cfg = toy_config("trainer.max_steps=20")
    results = train(cfg)
    out = json.loads(cli("eval", cfg.run_dir, "--split", "test").stdout)
    assert out["accuracy"] == pytest.approx(results["test"]["accuracy"])


def test_the_console_says_what_the_run_does_and_results_hold_its_time(toy_config, caplog):
    cfg = toy_config("trainer.threads=1")  # the toy preset logs every 5 steps with no progress bar
    with caplog.at_level("INFO", logger="ssl_universal"):
        results = train(cfg)
    start = [m for m in caplog.messages if m.startswith("training ")]
    assert len(start) == 1 and "examples train 256, valid 64, test 64" in start[0]
    assert "30 steps" in start[0] and "1 threads" in start[0] and "fp32" in start[0]
    status = [m for m in caplog.messages if m.startswith("step ")]
    assert [s.split()[1] for s in status] == [f"{k}/30" for k in (5, 10, 15, 20, 25, 30)]
    assert all(" ex/s " in s and " eta " in s for s in status)
    timing = results["timing"]
    assert timing["threads"] == 1 and timing["wall_s"] > 0 and timing["cpu_s"] > 0


def test_max_epochs_sets_the_length_of_the_schedule(toy_config):
    cfg = toy_config("trainer.max_steps=1000", "trainer.max_epochs=2", "trainer.eval_every=100", "trainer.log_every=1",
                     "trainer.lr=0.01", "trainer.warmup_steps=0")
    results = train(cfg)
    assert results["steps"] == 32 and results["stopped"] == "max_epochs"  # 256 examples / 16 a batch, 2 epochs
    lrs = [r["lr"] for r in _records(cfg.run_dir, "train")]
    assert lrs[0] == pytest.approx(0.01 * 31 / 32) and lrs[-1] == pytest.approx(0.0)  # decays to 0 at the last step


def test_a_precision_the_cpu_emulates_gets_advice(monkeypatch):
    from ssl_universal.engine import precision

    monkeypatch.setattr(precision, "cpu_slowdown", lambda name: 40.0)
    advice = precision.precision_advice("bf16", torch.device("cpu"))
    assert "40x slower than fp32" in advice and "trainer.precision=fp32" in advice
    assert precision.precision_advice("fp32", torch.device("cpu")) is None
    monkeypatch.setattr(precision, "cpu_slowdown", lambda name: 1.1)
    assert precision.precision_advice("bf16", torch.device("cpu")) is None  # a CPU with native bf16: no warning


def test_eval_scores_a_run_made_with_a_preset_and_a_row(tmp_path):
    """The saved config records preset/row; re-loading it must not look them up in a recipe again."""
    from ssl_universal.config import load_config
    from ssl_universal.run import evaluate

    cfg = load_config(["recipe=dna/splice", "preset=smoke", "row=rand", f"run_dir={tmp_path / 'run'}",
                       "trainer.threads=1"])
    results = train(cfg)
    scored = evaluate(tmp_path / "run", split="test")
    assert scored["accuracy"] == pytest.approx(results["test"]["accuracy"])


class _NoLog:
    def log(self, *args, **kwargs):
        pass


def _evals(trainer, values):
    """Feed valid scores to the trainer's best/early-stopping bookkeeping; the eval index that says stop."""
    for i, value in enumerate(values):
        trainer.progress.step = 10 * (i + 1)
        if trainer._after_eval({"loss": 1.0, trainer.best_metric: value}, _NoLog()):
            return i
    return None


def _trainer(toy_config, *overrides):
    cfg = toy_config("trainer.max_steps=100", "trainer.best_mode=max", *overrides)
    task, model = build(cfg)
    return Trainer(OmegaConf.to_object(cfg.trainer), task, model, cfg.run_dir, seed=cfg.seed)


def test_min_delta_counts_small_gains_as_no_improvement_but_keeps_the_best(toy_config):
    scores = [0.50, 0.505, 0.508, 0.509, 0.60]
    plain = _trainer(toy_config, "trainer.early_stopping_patience=3")
    assert _evals(plain, scores) is None  # every eval improves a little, so patience never runs out
    strict = _trainer(toy_config, "trainer.early_stopping_patience=3", "trainer.early_stopping_min_delta=0.01")
    assert _evals(strict, scores) == 3  # three gains under 0.01 in a row: stop at the fourth eval
    assert strict.progress.best_value == 0.509 and strict.progress.best_step == 40  # the best still follows them
    assert strict.progress.patience_ref == 0.50


def test_min_steps_holds_early_stopping_back(toy_config):
    flat = [0.5] * 6
    assert _evals(_trainer(toy_config, "trainer.early_stopping_patience=2"), flat) == 2
    held = _trainer(toy_config, "trainer.early_stopping_patience=2", "trainer.early_stopping_min_steps=50")
    assert _evals(held, flat) == 4  # step 50 is the fifth eval
    assert held._stop_reason() == "early_stopping"


def test_evaluation_batches_are_sorted_by_length_and_score_the_same(toy_config):
    # Training keeps shuffled, unsorted batches here; evaluation sorts by length unless told not to.
    cfg = toy_config("trainer.bucket_by_length=false", "trainer.batch_size=8")
    task, model = build(cfg)
    lengths = task.lengths("valid")
    assert len(set(lengths)) > 1  # the comparison needs examples of different lengths

    def trainer(by_length):
        return Trainer(OmegaConf.to_object(toy_config("trainer.bucket_by_length=false", "trainer.batch_size=8",
                                                      f"trainer.eval_by_length={by_length}").trainer),
                       task, model, cfg.run_dir, seed=cfg.seed)

    def padded(batches):
        return sum(len(b) * max(lengths[i] for i in b) for b in batches)

    sorted_batches = trainer(True)._plan("valid", train=False).epoch_batches(0)
    ordered_batches = trainer(False)._plan("valid", train=False).epoch_batches(0)
    flat = [lengths[i] for b in sorted_batches for i in b]
    assert flat == sorted(flat)
    assert [i for b in ordered_batches for i in b] == list(range(len(lengths)))
    assert padded(sorted_batches) < padded(ordered_batches)
    assert not trainer(True)._plan("train", train=True).bucket_by_length  # training order untouched

    by_length, in_order = trainer(True).evaluate("valid"), trainer(False).evaluate("valid")
    assert by_length["accuracy"] == in_order["accuracy"]
    assert by_length["loss"] == pytest.approx(in_order["loss"], rel=1e-5)
