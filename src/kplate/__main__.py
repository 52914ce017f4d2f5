"""`python -m kplate` (and `torchrun -m kplate`) runs the CLI."""

import sys

from kplate.cli import main

sys.exit(main())
