import sys

from balora.cli import main

sys.exit(main())
