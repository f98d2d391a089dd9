"""Score spoken-QA predictions: `python tools/eval_spoken_qa.py GOLD.json PRED.json` (see docs/spoken_qa_eval.md)."""

import sys
from pathlib import Path

# Runs from a checkout whether or not the package is installed; importing it does not load torch.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ssl_universal.sqa_eval import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
