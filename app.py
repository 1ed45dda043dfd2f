"""RLHF Playground: `python app.py [--data PATH] [--policy NAME] [--offline] [--port N]`.

Also the entry point of the Hugging Face Space (README.md header: `app_file: app.py`).
"""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from rlhf_demo.cli import serve_main  # noqa: E402

if __name__ == "__main__":
    serve_main()
