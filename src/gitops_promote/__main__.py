from gitops_promote.cli import main

raise SystemExit(main())
