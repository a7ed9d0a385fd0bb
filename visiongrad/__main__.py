"""``python -m visiongrad`` runs the ``visiongrad`` command."""

import sys

from visiongrad.cli import main

sys.exit(main())
