"""``python -m safebench +algo=NAME +task=NAME [key=value ...]``."""

from safebench.cli import main

if __name__ == "__main__":
    main()
