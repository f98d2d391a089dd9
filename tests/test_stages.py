"""The stage runner of the table verbs: a finished stage is skipped, a run one is timed."""

from ssl_universal.stages import Stages


def test_a_stage_runs_once_and_a_finished_one_is_skipped(tmp_path, capsys):
    stages, calls = Stages(), []
    marker = tmp_path / "done.json"

    def make() -> None:
        calls.append("make")
        marker.write_text("{}")

    stages.stage("data", marker, make)
    stages.stage("data", marker, make)  # the marker exists now: skipped
    assert calls == ["make"]
    assert set(stages.timings) == {"data"} and stages.timings["data"] >= 0.0
    printed = capsys.readouterr().out
    assert "[run] data" in printed and "[done] data in" in printed and f"[skip] data: {marker} exists" in printed


def test_a_stage_that_fails_is_not_marked_done(tmp_path):
    stages = Stages()

    def broken() -> None:
        raise RuntimeError("boom")

    try:
        stages.stage("train", tmp_path / "never", broken)
    except RuntimeError:
        pass
    assert stages.timings == {}
