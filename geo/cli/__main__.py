"""``python -m geo.cli`` runs the command line, like the ``geo`` console script."""

from __future__ import annotations

import sys

from geo.cli import main

sys.exit(main())
