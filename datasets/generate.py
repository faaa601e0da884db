"""Generate a synthetic dealer-customer export with ground truth.

    python datasets/generate.py --records 5000 --seed 42 --out datasets/sample

Same as ``matching generate``; see ``matching.synth`` for the Python API.
"""

import sys
from pathlib import Path

try:
    from matching.synth import main
except ImportError:  # run from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from matching.synth import main

if __name__ == "__main__":
    sys.exit(main())
