"""RLHF Playground: `python app.py [--data PATH] [--policy NAME] [--offline] [--port N]`, the same as
`python -m rlhf_demo serve [...]` (both start in `rlhf_demo.cli.main`).

Also the entry point of the Hugging Face Space (README.md header: `app_file: app.py`).
"""

import sys

from rlhf_demo.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["serve", *sys.argv[1:]]))
