"""``python -m tokvec``: the tokvec command line."""

import sys

from .cli import main

sys.exit(main())
