import sys

from rlhf_demo.cli import main

sys.exit(main())
