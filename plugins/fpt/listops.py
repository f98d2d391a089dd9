"""ListOps: the Long Range Arena generator's grammar, its .tsv files, and a tokenizer over its symbols.

The grammar is LRA's (google-research/long-range-arena, ``lra_benchmarks/data/listops.py``): an
expression is a digit 0–9 or ``[OP a b ... ]`` with OP one of MIN, MAX, MED (the median, rounded
down) and SM (sum modulo 10); a node below ``max_depth`` is an operator with probability 0.25,
with 2..``max_args`` arguments; an expression is kept when its length (digits, operators and
closing brackets) is strictly between ``min_length`` and ``max_length``, and each is unique.
LRA's defaults are depth 10, 10 arguments, lengths 500–2,000. The text is written as LRA writes it
(binary nesting in round brackets), in ``<task>_train.tsv`` / ``_val.tsv`` / ``_test.tsv`` files with
a ``Source<TAB>Target`` header, so a user's real LRA files read the same way.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from ssl_universal.data.sequence_files import Record
from ssl_universal.errors import ConfigError, DataError
from ssl_universal.schema import choice
from ssl_universal.tokenizer import Tokenizer, TokenizerConfig

OPERATORS = ("[MIN", "[MAX", "[MED", "[SM")
END = "]"
OPERATOR_PROBABILITY = 0.25  # LRA's VALUE_P: below max_depth a node is an operator with this probability
SPLIT_FILES = {"train": "train", "valid": "val", "test": "test"}  # our split -> LRA's file suffix


def generate_tree(rng: random.Random, depth: int, max_depth: int, max_args: int) -> tuple[object, int]:
    """A random expression tree (LRA's binary nesting ``((op, a), b) ... , ']'``) and its length."""
    if depth < max_depth and rng.random() <= OPERATOR_PROBABILITY:
        length = 2
        tree: object = rng.choice(OPERATORS)
        arguments = rng.randint(2, max_args)
        for _ in range(arguments):
            child, child_length = generate_tree(rng, depth + 1, max_depth, max_args)
            tree = (tree, child)
            length += child_length
        return (tree, END), length
    return rng.randrange(10), 1


def to_string(tree: object) -> str:
    """LRA's text of a tree: each pair in round brackets, tokens separated by spaces."""
    if isinstance(tree, tuple):
        return f"( {to_string(tree[0])} {to_string(tree[1])} )"
    return str(tree)


def _apply(operator: str, values: list[int]) -> int:
    if operator == "[MIN":
        return min(values)
    if operator == "[MAX":
        return max(values)
    if operator == "[MED":
        ordered = sorted(values)
        middle = len(ordered) // 2
        return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) // 2
    return sum(values) % 10


def value(tree: object) -> int:
    """The value of an expression tree."""

    def walk(node):  # -> int, or (operator, arguments so far) for an unclosed operator
        if not isinstance(node, tuple):
            return node
        left, right = walk(node[0]), node[1]
        if right == END:
            return _apply(*left)
        if isinstance(left, str):
            left = (left, [])
        return left[0], [*left[1], walk(right)]

    return walk(tree)


def generate(count: int, *, max_depth: int, max_args: int, min_length: int, max_length: int, seed: int,
             max_tries: int = 200) -> list[tuple[str, int]]:
    """``count`` distinct (text, value) pairs, a pure function of ``seed``."""
    rng = random.Random(f"listops-{seed}")
    seen: dict[str, int] = {}
    for _ in range(max(count, 1) * max_tries):
        if len(seen) >= count:
            break
        tree, length = generate_tree(rng, 1, max_depth, max_args)
        if min_length < length < max_length:
            seen.setdefault(to_string(tree), value(tree))
    if len(seen) < count:
        raise ConfigError(
            f"ListOps: only {len(seen)} distinct expressions of length {min_length}..{max_length} (exclusive) came out of "
            f"{count * max_tries} draws with max_depth={max_depth}, max_args={max_args}; widen the lengths, raise the depth or ask for fewer"
        )
    return list(seen.items())


def write_tsv(rows: list[tuple[str, int]], path: str | Path) -> Path:
    """Rows in LRA's format: a ``Source<TAB>Target`` header, then one expression and its value per line."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["Source", "Target"])
        writer.writerows(rows)
    return path


def split_path(data_dir: Path, split: str, task: str) -> Path:
    """``<task>_train.tsv`` (LRA's names), else ``train.tsv`` / ``valid.tsv`` / ``dev.tsv``..."""
    candidates = [data_dir / f"{task}_{SPLIT_FILES[split]}.tsv", data_dir / f"{split}.tsv"]
    if split == "valid":
        candidates += [data_dir / "val.tsv", data_dir / "dev.tsv"]
    for path in candidates:
        if path.is_file():
            return path
    raise DataError(f"no ListOps {split} file in {data_dir}: tried {', '.join(p.name for p in candidates)} "
                    f"(LRA's files are {task}_train.tsv, {task}_val.tsv, {task}_test.tsv; set task.lra_task for another prefix)")


def read_tsv(path: str | Path) -> list[Record]:
    """Records of an LRA ListOps .tsv (``Source<TAB>Target`` header); bad lines name the file and line."""
    path = Path(path)
    records = []
    with open(path, encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle, delimiter="\t"), 1):
            if number == 1:
                if [c.strip() for c in row[:2]] != ["Source", "Target"]:
                    raise DataError(f"{path}, line 1: expected the header 'Source<TAB>Target', found {row!r}")
                continue
            if not row or not "".join(row).strip():
                continue
            where = f"{path}, line {number}"
            if len(row) != 2:
                raise DataError(f"{where}: expected 2 tab-separated fields (Source, Target), found {len(row)}")
            source, target = row[0].strip(), row[1].strip()
            if not source:
                raise DataError(f"{where}: empty Source")
            if target not in {str(d) for d in range(10)}:
                raise DataError(f"{where}: Target {target!r} is not a digit 0-9")
            records.append(Record(source, target, where))
    if not records:
        raise DataError(f"{path}: no examples after the header")
    return records


@dataclass
class ListOpsTokenizerConfig(TokenizerConfig):
    """How ListOps text becomes symbols."""

    brackets: str = choice("keep", "drop")  # keep: ']' closes each operator | drop: as LRA's pipeline, whose alphanumeric tokenizer loses '[' and ']'


class ListOpsTokenizer(Tokenizer):
    """Digits, the four operators and ``]``; LRA's round brackets carry no information and are dropped."""

    Config = ListOpsTokenizerConfig

    def __init__(self, cfg: ListOpsTokenizerConfig | None = None):
        cfg = cfg or self.Config()
        symbols = [str(d) for d in range(10)] + [op[1:] for op in OPERATORS] + ([END] if cfg.brackets == "keep" else [])
        super().__init__(cfg, symbols=symbols)
        self.known = frozenset(symbols)

    def split(self, item: str) -> list[str]:
        symbols = []
        for position, token in enumerate(item.split(), 1):
            if token in ("(", ")"):
                continue
            symbol = token[1:] if token.startswith("[") else token
            if symbol == END and self.cfg.brackets == "drop":
                continue
            if symbol not in self.known and symbol != END:
                raise DataError(f"ListOps token {token!r} (word {position}) is not a digit, an operator "
                                f"({', '.join(OPERATORS)}) or ']'")
            symbols.append(symbol)
        return symbols
