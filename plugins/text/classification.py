"""text_classification: one label per sentence (or sentence pair) from TSV/CSV or a saved HF dataset."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ssl_universal.data.cache import source_fingerprint, tokenizer_fingerprint
from ssl_universal.data.collate import pad_sequences
from ssl_universal.data.splits import split_file
from ssl_universal.errors import DataError
from ssl_universal.metrics import classification_scores
from ssl_universal.task import Task

from .common import (
    TextTaskConfig,
    check_length,
    hf_tokenizer_of,
    special_id,
)
from .readers import read_table

# Split names a saved Hugging Face DatasetDict may use for each of ours.
_HF_SPLITS = {
    "train": ("train",),
    "valid": ("validation", "valid", "dev"),
    "test": ("test",),
}


@dataclass
class TextClassificationConfig(TextTaskConfig):
    """Where the table is and which columns hold text and label."""

    max_length: int = 128  # longest input in tokens (special tokens included)
    text_column: str = (
        "text"  # column of the text: a header name, or a 0-based index such as "0"
    )
    text_pair_column: str | None = (
        None  # column of the second sentence of a pair (NLI, paraphrase); None = single sentences
    )
    label_column: str = "label"  # column of the label: a header name or an index
    header: str = "auto"  # auto | yes | no: whether the first row holds column names
    delimiter: str | None = None  # field separator; None = tab for .tsv, comma for .csv
    labels: list[str] | None = (
        None  # label vocabulary in id order; None = the sorted labels of the training split
    )


class TextClassificationTask(Task):
    """Sentence (pair) classification scored by accuracy and macro-F1.

    Reads ``train.tsv``, ``valid.tsv``/``dev.tsv``, ``test.tsv`` (or ``.csv``) under ``data_dir``, or
    a ``datasets.DatasetDict`` saved there with ``save_to_disk``. With ``data_dir`` unset it uses the
    fortunes source-file set from :mod:`.prepare`. Labels seen only outside train are an error.
    """

    Config = TextClassificationConfig
    default_tokenizer = "backbone"
    best_metric = "accuracy"
    best_mode = "max"

    def __init__(self, cfg: TextClassificationConfig, tokenizer=None):
        super().__init__(cfg, tokenizer)
        self._label_names: list[str] | None = list(cfg.labels) if cfg.labels else None

    # -- data -----------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        if self.cfg.data_dir is None:
            from .prepare import ensure_prepared

            return ensure_prepared("classification", self.cfg.prepare_seed)
        return Path(self.cfg.data_dir).expanduser()

    def _rows(self, split: str) -> tuple[list[dict], str]:
        """Raw rows (text, text_pair?, label as string, line) and a name for error messages."""
        root = self.data_dir
        if (root / "dataset_dict.json").is_file():
            return self._hf_rows(root, split)
        path = split_file(self.cfg, root, split, (".tsv", ".csv"))
        cfg = self.cfg
        rows = read_table(
            path,
            cfg.text_column,
            cfg.label_column,
            cfg.text_pair_column,
            cfg.header,
            cfg.delimiter,
        )
        return rows, str(path)

    def _hf_rows(self, root: Path, split: str) -> tuple[list[dict], str]:
        import datasets

        dataset_dict = datasets.load_from_disk(str(root))
        name = next((n for n in _HF_SPLITS[split] if n in dataset_dict), None)
        if name is None:
            raise DataError(
                f"{root}: the saved dataset has splits {list(dataset_dict)}, none of {_HF_SPLITS[split]}"
            )
        data = dataset_dict[name]
        cfg = self.cfg
        for column in (cfg.text_column, cfg.label_column, cfg.text_pair_column):
            if column is not None and column not in data.column_names:
                raise DataError(
                    f"{root} [{name}]: no column {column!r}; columns are {data.column_names}"
                )
        feature = data.features[cfg.label_column]
        names = getattr(
            feature, "names", None
        )  # a ClassLabel stores ints and the names apart
        rows = []
        for index, record in enumerate(data):
            raw = record[cfg.label_column]
            if names and isinstance(raw, int):  # ClassLabel -1 means "no label" (GLUE test splits)
                label = names[raw] if 0 <= raw < len(names) else ""
            else:
                label = "" if raw is None else str(raw)
            if not label.strip():
                raise DataError(
                    f"{root} [{name}] row {index}: no label ({cfg.label_column!r} is {raw!r}); every example "
                    "needs one: fill it in, or filter the row out before save_to_disk (a split without labels "
                    "cannot be scored)"
                )
            row = {"text": record[cfg.text_column], "label": label, "line": index}
            if cfg.text_pair_column is not None:
                row["text_pair"] = record[cfg.text_pair_column]
            rows.append(row)
        return rows, f"{root} [{name}] row"

    @property
    def label_names(self) -> list[str]:
        if self._label_names is None:
            rows, _ = self._rows("train")
            self._label_names = sorted({r["label"] for r in rows})
        return self._label_names

    def _encode(self, text: str, pair: str | None) -> tuple[list[int], list[int]]:
        hf = hf_tokenizer_of(self.tokenizer)
        if hf is not None:
            encoded = hf(
                text, pair, add_special_tokens=True, return_token_type_ids=True
            )
            return list(encoded["input_ids"]), list(encoded["token_type_ids"])
        ids = self.tokenizer.encode(text)
        types = [0] * len(ids)
        if pair is not None:
            second = [
                *self.tokenizer.encode(pair, add_special=False),
                special_id(self.tokenizer, "sep"),
            ]
            ids, types = ids + second, types + [1] * len(second)
        return ids, types

    @property
    def cache_fields(self) -> tuple[str, ...]:
        pairs = self.cfg.text_pair_column is not None
        return ("input_ids", "label", "token_type_ids") if pairs else ("input_ids", "label")

    def cache_key(self, split: str) -> dict:
        """Tokenised splits are reused across runs while the files, tokenizer and config stay the same."""
        files = sorted(p for p in self.data_dir.rglob("*") if p.is_file())
        return {
            "source": source_fingerprint(*files),
            "tokenizer": tokenizer_fingerprint(self.tokenizer),
            "config": asdict(self.cfg),
        }

    def load_split(self, split: str) -> list[dict]:
        rows, where = self._rows(split)
        index = {name: i for i, name in enumerate(self.label_names)}
        examples = []
        for row in rows:
            if row["label"] not in index:
                raise DataError(
                    f"{where}, line {row['line']}: label {row['label']!r} does not occur in the training split "
                    f"(known: {', '.join(self.label_names)})"
                )
            ids, types = self._encode(row["text"], row.get("text_pair"))
            if check_length(len(ids), self.cfg, f"{where}, line {row['line']}"):
                sep = special_id(self.tokenizer, "sep")
                ids, types = (
                    [*ids[: self.cfg.max_length - 1], sep],
                    types[: self.cfg.max_length],
                )
            example = {"input_ids": ids, "label": index[row["label"]]}
            if row.get("text_pair") is not None:
                example["token_type_ids"] = types
            examples.append(example)
        return examples

    def collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        input_ids, attention_mask = pad_sequences(
            [e["input_ids"] for e in examples], special_id(self.tokenizer, "pad")
        )
        batch = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "labels": torch.tensor([e["label"] for e in examples], dtype=torch.long),
        }
        if "token_type_ids" in examples[0]:
            batch["token_type_ids"], _ = pad_sequences(
                [e["token_type_ids"] for e in examples], 0
            )
        return batch

    # -- model side -----------------------------------------------------------------------
    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    def score(self, steps: list[dict]) -> dict[str, float]:
        predictions = torch.cat([s["predictions"] for s in steps]).tolist()
        labels = torch.cat([s["labels"] for s in steps]).tolist()
        return classification_scores(labels, predictions, self.num_labels)
