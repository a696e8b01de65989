"""``python -m featherpose`` runs the command line."""

import sys

from featherpose.cli import main

sys.exit(main())
