"""python -m llmspell_sessions: the same command line as llmspell-sessions."""

import sys

from .cli import main

sys.exit(main())
