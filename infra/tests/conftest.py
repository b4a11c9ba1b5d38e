"""Make infra/invariants.py and infra/genesys/render.py importable from the tests."""

import sys
from pathlib import Path

INFRA = Path(__file__).resolve().parents[1]
for p in (INFRA, INFRA / "genesys"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))
