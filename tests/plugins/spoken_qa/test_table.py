"""``spoken-qa-table`` refuses to resume over a dataset built with other settings (runs would be mixed in)."""

from __future__ import annotations

import json

import pytest

from ssl_universal_plugins.spoken_qa.table import main


def test_a_dataset_of_other_settings_is_refused_naming_the_keys(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    config = {"out": "/elsewhere/data", "seed": 0, "train": 6, "valid": 3, "test": 3, "fortunes_per_passage": 2,
              "max_fortune_chars": 90, "min_fortune_chars": 40, "sample_rate": 16000, "check_alignment": 2, "workers": 2}
    (data / "dataset.json").write_text(json.dumps({"config": config}))
    with pytest.raises(SystemExit) as stopped:
        main(["--out", str(tmp_path), "--preset", "smoke", "--data-seed", "1", "--question-voice", "passage"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "seed: 0 there, 1 asked" in err and "question_voice: 'flite' there, 'passage' asked" in err
    assert "use another --out" in err and not (tmp_path / "units").exists()


def test_hubert_front_end_units_live_apart_and_another_layer_is_refused(tmp_path, capsys):
    """--units-from/--units-layer cluster a HuBERT layer (20 ms frames) into units/hubert_l<L>/k<K>; that folder asked
    for with another checkpoint is refused, naming the key, so two front ends' runs are never mixed."""
    import argparse
    import shutil

    import torch
    from transformers import HubertConfig, HubertModel

    from ssl_universal.errors import SSLUniversalError
    from ssl_universal_plugins.spoken_qa.dataset import SpokenQAConfig, build_dataset
    from ssl_universal_plugins.spoken_qa.table import Pipeline
    from ssl_universal_plugins.spoken_qa.units_qa import UnitQAConfig, UnitQATask, UnitTokenizer, UnitTokenizerConfig

    if shutil.which("flite") is None or shutil.which("espeak-ng") is None:
        pytest.skip("needs espeak-ng and flite (tools/install_system_deps.sh)")
    torch.manual_seed(0)
    config = HubertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                          conv_dim=(16, 16, 16), conv_stride=(5, 8, 8), conv_kernel=(10, 8, 8),
                          num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
    HubertModel(config).save_pretrained(tmp_path / "hubert")
    build_dataset(SpokenQAConfig(out=str(tmp_path / "out" / "data"), train=2, valid=1, test=1, max_fortune_chars=90,
                                 check_alignment=0))

    def pipeline(layer, checkpoint="hubert"):
        return Pipeline(argparse.Namespace(preset="smoke", out=str(tmp_path / "out"), seeds=None, clusters=None,
                                           data_seed=0, question_voice="flite", override=[],
                                           units_from=str(tmp_path / checkpoint), units_layer=layer))

    first = pipeline(2)
    first.units(8)
    units = tmp_path / "out" / "units" / "hubert_l2" / "k8"
    summary = json.loads((units / "units.json").read_text())
    assert summary["label_rate"] == 50.0 and summary["config"]["feature"] == "hubert" and summary["config"]["layer"] == 2
    assert first.runs_dir(8) == tmp_path / "out" / "runs" / "hubert_l2" / "k8"
    # the task reads these units at 20 ms a frame: every utterance's runs cover its frames
    task = UnitQATask(UnitQAConfig(data_dir=str(tmp_path / "out" / "data"), units_dir=str(units)),
                      UnitTokenizer(UnitTokenizerConfig(num_units=8)))
    assert task.frame_seconds == 0.02 and len(task.read("train")) == 2
    first.check_units(8)  # the same front end resumes
    pipeline(1).check_units(8)  # another layer has its own folder
    HubertModel(config).save_pretrained(tmp_path / "other")
    with pytest.raises(SSLUniversalError, match="checkpoint: .*hubert' there, .*other' asked.*use another --out"):
        pipeline(2, "other").check_units(8)


def test_units_from_needs_its_layer(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--out", str(tmp_path), "--preset", "smoke", "--units-from", str(tmp_path)])
    assert stopped.value.code == 2 and "--units-from and --units-layer go together" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--preset", "smoke", "--units-from", str(tmp_path / "nothing"), "--units-layer", "2"])
    assert "no such folder" in capsys.readouterr().err and not (tmp_path / "units").exists()
