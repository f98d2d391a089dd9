"""One run per folder: a differing config is refused with the diff, replace replaces all, a failed resume writes nothing."""

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ssl_universal.errors import CheckpointError, ConfigError
from ssl_universal.run import train
from ssl_universal.run_folder import LOCK_FILE, config_changes


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file of the run (the writer lock, rewritten by each process that takes it, aside)."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))
            if p.name != LOCK_FILE}


def test_config_changes_ignore_logging_keys_and_name_absent_ones():
    old = {"seed": 0, "run_dir": "a", "trainer": {"lr": 0.001, "log_every": 10, "adam_betas": [0.9, 0.999]}}
    new = {"seed": 1, "run_dir": "b", "trainer": {"lr": 0.002, "log_every": 1, "adam_betas": [0.9, 0.98], "new": 3}}
    assert config_changes(old, new) == {"seed": (0, 1), "trainer.lr": (0.001, 0.002),
                                        "trainer.adam_betas": ([0.9, 0.999], [0.9, 0.98]),
                                        "trainer.new": ("<absent>", 3)}


def test_a_different_config_is_refused_with_the_differing_keys(toy_config):
    cfg = toy_config("trainer.max_steps=10")
    train(cfg)
    before = _snapshot(Path(cfg.run_dir))
    with pytest.raises(ConfigError) as info:
        train(toy_config("trainer.max_steps=10", "seed=1", "trainer.lr=2e-3"))
    message = str(info.value)
    assert f"run_dir {cfg.run_dir} holds a run with another config" in message
    assert "  seed: 0 → 1\n  trainer.lr: 0.001 → 0.002\n" in message
    assert "own run_dir" in message and "allow_config_change=true" in message and "run_info.json" in message
    assert _snapshot(Path(cfg.run_dir)) == before


def test_keys_that_only_change_logging_resume_the_same_run(toy_config):
    cfg = toy_config("trainer.max_steps=10")
    first = train(cfg)
    again = train(toy_config("trainer.max_steps=10", "trainer.log_every=1", "trainer.progress_bar=true",
                             "trainer.keep_last=3"))
    assert {k: v for k, v in again.items() if k != "timing"} == {k: v for k, v in first.items() if k != "timing"}
    info = json.loads((Path(cfg.run_dir) / "run_info.json").read_text())
    assert [r["from_step"] for r in info["resumes"]] == [10] and "config_changes" not in info
    tests = [r for r in map(json.loads, (Path(cfg.run_dir) / "metrics.jsonl").read_text().splitlines())
             if r["split"] == "test"]
    assert len(tests) == 1  # a re-run of a finished run does not add a second test record


def test_allow_config_change_continues_and_records_the_change(toy_config):
    cfg = toy_config("trainer.max_steps=10")
    train(cfg)
    results = train(toy_config("trainer.max_steps=20", "allow_config_change=true"))
    assert results["steps"] == 20
    run_dir = Path(cfg.run_dir)
    assert OmegaConf.load(run_dir / "config.yaml").trainer.max_steps == 20
    info = json.loads((run_dir / "run_info.json").read_text())
    assert info["config_changes"][0]["at_step"] == 10
    assert info["config_changes"][0]["changes"] == {"trainer.max_steps": {"old": 10, "new": 20}}
    assert info["resumes"][0]["from_step"] == 10


def test_resume_false_into_a_used_folder_is_refused_and_replace_replaces_all_of_it(toy_config):
    cfg = toy_config("trainer.max_steps=30")
    train(cfg)
    run_dir = Path(cfg.run_dir)
    (run_dir / "slurm-42.out").write_text("the scheduler's log, not the run's\n")
    before = _snapshot(run_dir)
    with pytest.raises(ConfigError, match=r"already holds a run \(config.yaml, .*checkpoints/.*replace=true"):
        train(toy_config("trainer.max_steps=30", "resume=false"))
    assert _snapshot(run_dir) == before

    results = train(toy_config("trainer.max_steps=10", "seed=3", "resume=false", "replace=true"))
    assert results["steps"] == 10
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["latest", "step_00000010"]
    assert (run_dir / "checkpoints" / "latest").read_text() == "step_00000010"
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert records and max(r["step"] for r in records) == 10
    assert json.loads((run_dir / "best" / "best.json").read_text())["step"] == 10
    assert OmegaConf.load(run_dir / "config.yaml").seed == 3
    assert "resumes" not in json.loads((run_dir / "run_info.json").read_text())
    assert (run_dir / "slurm-42.out").read_text().startswith("the scheduler's log")  # not the run's: kept


def test_a_failed_resume_leaves_the_folder_byte_identical(toy_config):
    cfg = toy_config("trainer.max_steps=20")
    train(cfg)
    before = _snapshot(Path(cfg.run_dir))
    with pytest.raises(CheckpointError, match=r"none of the 2 checkpoints loads.*\n  step_00000020: .*model.safetensors"):
        train(toy_config("trainer.max_steps=20", "model.dim=48", "allow_config_change=true"))
    assert _snapshot(Path(cfg.run_dir)) == before


def test_a_folder_of_checkpoints_without_config_is_refused(toy_config):
    cfg = toy_config("trainer.max_steps=10")
    train(cfg)
    (Path(cfg.run_dir) / "config.yaml").unlink()
    with pytest.raises(ConfigError, match="no config.yaml, so it cannot be checked"):
        train(toy_config("trainer.max_steps=10"))


def test_a_second_writer_is_refused_while_the_first_holds_the_folder(toy_config, tmp_path):
    from ssl_universal.run_folder import writer_lock

    cfg = toy_config("trainer.max_steps=10")
    run_dir = Path(cfg.run_dir)
    with writer_lock(run_dir):  # as a training process in another terminal would
        holder = (run_dir / LOCK_FILE).read_text()
        assert holder.startswith("pid ")
        with pytest.raises(ConfigError) as info:
            train(cfg)
        assert f"run_dir {run_dir} is being written by another training process ({holder.strip()})" in str(info.value)
        assert sorted(p.name for p in run_dir.iterdir()) == [LOCK_FILE]  # nothing of a run was written
    train(cfg)  # released: the same folder trains
    assert (run_dir / "results.json").is_file()
    train(cfg)  # and a finished run's folder, whose lock file stays, resumes (no stale lock)


def test_the_lock_is_released_when_the_block_raises(tmp_path):
    from ssl_universal.run_folder import writer_lock

    with pytest.raises(RuntimeError):
        with writer_lock(tmp_path / "run"):
            raise RuntimeError("training failed")
    with writer_lock(tmp_path / "run"):
        pass
