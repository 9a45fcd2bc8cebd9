"""``python -m avatar_node`` is the ``avatar-node`` command."""

import sys

from .cli import main

sys.exit(main())
