"""python -m pytest_modelperf.cli: the modelperf command."""

from .main import main

raise SystemExit(main())
