"""``python -m tokvec.cli``: the tokvec command line."""

import sys

from . import main

sys.exit(main())
