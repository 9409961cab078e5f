"""`python -m monitor` is the `giaoban` command."""

from monitor.cli import main

raise SystemExit(main())
