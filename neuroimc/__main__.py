"""``python -m neuroimc ...`` runs the command line (:mod:`neuroimc.cli`)."""
import sys

from .cli import main

sys.exit(main())
