import sys

from gamepit.cli import main

sys.exit(main())
