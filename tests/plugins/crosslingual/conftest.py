"""A tiny fortunes folder (English, German, Spanish, Chinese files in Debian's layout) for the crosslingual tests."""

from __future__ import annotations

import pytest

EN = [
    "The quick brown fox jumps over the lazy sleeping dog in the garden today.",
    "Programmers never really finish their programs; they only abandon them eventually.",
    "A journey of a thousand miles begins with a single careful step forward.",
    "Nobody expects the inquisition, especially not on a quiet Sunday morning.",
    "Every silver lining has a cloud somewhere behind it, waiting patiently.",
    "Computers are useless, they can only give you answers to your questions.",
]
DE = ["Niemand urteilt schärfer als der Ungebildete, er kennt weder Gründe noch Gegengründe.",
      "Wer andern eine Grube gräbt, fällt selbst hinein und ärgert sich darüber sehr."]
ES = ["El mal pajarillo, la lengua tiene por cuchillo, dice el refrán antiguo.",
      "No es otra cosa la amistad que un sumo consentimiento en las cosas divinas."]
ZH = ["东方未明，颠倒衣裳。颠之倒之，自公召之。", "学而时习之，不亦说乎？有朋自远方来，不亦乐乎？"]


def _fortune_file(path, entries, attribution="Anonymous"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n%\n".join(f"{e}\n\t\t-- {attribution}" for e in entries) + "\n%\n", encoding="utf-8")


@pytest.fixture
def fortunes_dir(tmp_path):
    root = tmp_path / "fortunes"
    from ssl_universal_plugins.crosslingual.corpus import EN_FILES, ZH_FILES

    for i, name in enumerate(EN_FILES):
        _fortune_file(root / name, [f"{e} Number {i} of {name}." for e in EN])
    _fortune_file(root / ZH_FILES[0], ZH + [f"{z[:-1]}，第{i}回也。" for i in range(12) for z in ZH])
    for name in ZH_FILES[1:]:
        _fortune_file(root / name, [z.replace("之", "者") for z in ZH])
    _fortune_file(root / "de" / "zitate", DE)
    _fortune_file(root / "es" / "vida.fortunes", ES)
    (root / "es" / "vida.fortunes.dat").write_bytes(b"\x00\x01")  # index files are not text: never read
    return root


def write_tiny_mlm(root):
    """Per-language corpus folders (en, de, zh; train and valid), their joint 300-piece vocabulary and a tiny random
    BertForMaskedLM saved with it like a downloaded folder: ``(corpus folder, model folder, tokenizer)``."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    from ssl_universal_plugins.crosslingual.vocab import train_vocabulary

    corpus = root / "corpus"
    texts = {"en": EN, "de": DE, "zh": ZH}
    for language, lines in texts.items():
        (corpus / language).mkdir(parents=True)
        for split in ("train", "valid"):
            (corpus / language / f"{split}.txt").write_text("\n".join(lines * 3) + "\n", encoding="utf-8")
    (corpus / "train.txt").write_text("\n".join(line for lines in texts.values() for line in lines * 3) + "\n", encoding="utf-8")
    tokenizer = AutoTokenizer.from_pretrained(str(train_vocabulary(corpus, root / "vocab", 300, max_positions=64)))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertForMaskedLM(config).save_pretrained(str(root / "model"))
    tokenizer.save_pretrained(str(root / "model"))
    return corpus, root / "model", tokenizer
