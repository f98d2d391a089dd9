"""``python -m ssl_universal.sqa_eval GOLD PRED``: the same as ``ssl-universal eval-sqa``."""

import sys

from .command import main

sys.exit(main())
