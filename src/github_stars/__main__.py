"""Entry point for `python -m github_stars`."""

import sys

from github_stars.cli import main

sys.exit(main())
