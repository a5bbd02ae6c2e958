from stratograph.cli import main

raise SystemExit(main())
