"""``python -m ue_twilio.sandbox``: the sandbox command line."""

import sys

from .cli import main

sys.exit(main())
