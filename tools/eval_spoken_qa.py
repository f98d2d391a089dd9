"""Score spoken-QA predictions: `python tools/eval_spoken_qa.py GOLD.json PRED.json` (see docs/spoken_qa_eval.md)."""

import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load_main():
    """Import the evaluator from this checkout without running the package's ``__init__``.

    The package ``__init__`` imports torch, which takes seconds and which scoring never
    needs; an empty package object lets ``ssl_universal.sqa_eval`` import only what it uses
    (the metrics and the error types). Works whether or not the package is installed.
    """
    sys.path.insert(0, str(ROOT))
    if "ssl_universal" not in sys.modules:
        package = types.ModuleType("ssl_universal")
        package.__path__ = [str(ROOT / "ssl_universal")]
        sys.modules["ssl_universal"] = package
    from ssl_universal.sqa_eval import main

    return main


if __name__ == "__main__":
    sys.exit(_load_main()())
