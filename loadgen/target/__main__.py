import sys

from loadgen.target.cli import main

sys.exit(main())
