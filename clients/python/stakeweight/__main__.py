"""``python -m stakeweight``: see ``stakeweight.cli``."""

import sys

from .cli import main

sys.exit(main())
