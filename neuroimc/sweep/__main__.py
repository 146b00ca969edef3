"""``python -m neuroimc.sweep FILE``: the ``neuroimc sweep`` command without the main CLI."""
import sys

from .command import main

sys.exit(main())
