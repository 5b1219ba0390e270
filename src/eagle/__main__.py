"""``python -m eagle`` is the ``eagle`` command."""

import sys

from eagle.cli.main import main

sys.exit(main())
