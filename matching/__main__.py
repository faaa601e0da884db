"""``python -m matching`` runs the command line."""

import sys

from matching.cli import main

sys.exit(main())
