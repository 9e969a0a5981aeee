import sys

from parkqa.cli import main

sys.exit(main())
