"""``python -m attribution.cli``: the command line."""

import sys

from attribution.cli.main import main

sys.exit(main())
