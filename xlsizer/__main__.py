"""python -m xlsizer"""

import sys

from xlsizer.cli import main

sys.exit(main())
