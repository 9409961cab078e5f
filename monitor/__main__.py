"""`python -m monitor` is the `giaoban` command."""

from monitor.cli.main import main

raise SystemExit(main())
