"""``python -m safebench +algo=NAME +task=NAME [key=value ...]``."""

import sys

if __name__ == "__main__":
    try:
        from safebench.cli import main
    except KeyboardInterrupt:  # Ctrl-C while the libraries load: one line, not an import traceback
        print("safebench: interrupted (Ctrl-C) before training started; there is nothing to resume.", file=sys.stderr)
        sys.exit(130)
    main()
