"""``python -m benchmarks [--quick]`` runs every measurement and prints one table."""

from benchmarks.run import main

raise SystemExit(main())
