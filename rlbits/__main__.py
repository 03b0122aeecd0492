import sys

from rlbits.pipeline.cli import main

sys.exit(main())
