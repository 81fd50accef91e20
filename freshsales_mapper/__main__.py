import sys

from freshsales_mapper.cli.main import main

sys.exit(main())
