"""``python -m rlhf_demo serve-reward --model DIR --port P``: a saved reward model as a remote reward server.

OpenRLHF calls it with ``--remote_rm_url http://HOST:P/get_reward``; verl through the custom reward function in
`verl_reward.py` (``POST /compute_score``). The contract is `reward_server.py`'s docstring (and ``GET /``).

1. arguments: `ServeRewardArguments`; bad ones are one ``error:`` line on stderr and exit status 2, never a traceback
2. the model: ``--model`` is a saved reward model folder (``reward_meta.json``), an exported bundle's
              ``reward_model/`` folder, or the bundle itself (``bundle.json`` beside ``reward_model/``)
3. the port:  bound BEFORE the model is loaded, so a port in use is said at once (and nothing is served until the
              model is ready: a readiness probe on ``GET /health`` is refused until then)
4. load:      `load_reward_model` (a LoRA adapter is merged into its backbone)
5. serve:     uvicorn on that socket until Ctrl-C or SIGTERM
"""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rlhf_demo.config_base import (ConfigBase, FieldError, check_device, check_int, check_number, command_parser,
                                   device_field, parse_command, shown)

from rlhf_demo.serving import BUNDLE_FILE, REWARD_SUBFOLDER


@dataclass
class ServeRewardArguments(ConfigBase):
    """The command's options."""

    model: str = field(metadata={
        "help": "a saved reward model folder (with reward_meta.json), an exported bundle, or its reward_model/ folder"})
    host: str = field(default="127.0.0.1", metadata={"help": "the address to listen on (0.0.0.0: every interface)"})
    port: int = field(default=8000, metadata={"help": "the port to listen on, in [1, 65535]"})
    max_batch: int = field(default=256, metadata={
        "help": "the most texts scored in one model call: concurrent requests are merged up to this many"})
    # 10 ms: far below a forward pass on a CPU (tens of ms), so a lone request hardly waits, while the requests that
    # arrive during a forward pass are merged anyway (they queue until the model is free)
    batch_wait_ms: float = field(default=10.0, metadata={
        "help": "how long a batch's first request waits for others to join it, in milliseconds"})
    max_body_mb: float = field(default=16.0, metadata={"help": "the largest request body, in MiB (bigger: 413)"})
    max_texts: int = field(default=4096, metadata={"help": "the most texts in one request (more: 413)"})
    device: str | None = device_field()
    access_log: bool = field(default=False, metadata={"help": "log every request (uvicorn's access log)"})

    def message(self, e: FieldError) -> str:
        return f"--{e.name.replace('_', '-')} {shown(e.value)}: must be {e.kind}{e.rule}{e.tail}"

    def check(self) -> None:
        check_int("port", self.port, 1, 65535)
        check_int("max_batch", self.max_batch, 1, 65536)
        check_number("batch_wait_ms", self.batch_wait_ms, 0, 10_000)
        check_number("max_body_mb", self.max_body_mb, 0, 4096, lo_open=True)
        check_int("max_texts", self.max_texts, 1, 1_000_000)
        check_device("device", self.device)


def serve_reward_parser():
    return command_parser(
        "python -m rlhf_demo serve-reward",
        "Serve a saved reward model over HTTP for OpenRLHF (--remote_rm_url http://HOST:PORT/get_reward) and verl "
        "(custom_reward_function.path=<rlhf_demo/serving/verl_reward.py>, POST /compute_score). GET / shows the "
        "contract.", ServeRewardArguments)


def reward_model_folder(path: str) -> Path:
    """Step 2: the folder holding reward_meta.json. Raises ValueError (naming --model) when there is none."""
    from rlhf_demo.reward.model import META_FILE

    folder = Path(path).expanduser()
    if (folder / BUNDLE_FILE).is_file() and (folder / REWARD_SUBFOLDER).is_dir():
        folder = folder / REWARD_SUBFOLDER
    if not folder.is_dir():
        raise ValueError(f"--model {path}: no such folder")
    if not (folder / META_FILE).is_file():
        raise ValueError(f"--model {path}: not a reward model folder (no {META_FILE}); give a saved reward model, "
                         f"an exported bundle or its {REWARD_SUBFOLDER}/ folder")
    return folder


def bind(host: str, port: int) -> socket.socket:
    """Step 3: a socket bound to (host, port), not yet listening. Raises OSError (port in use, unknown host)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def model_info(model, folder: Path, path: str) -> dict:
    """What GET /health says of the model."""
    named = Path(path).expanduser()
    name = named.name if (named / BUNDLE_FILE).is_file() else folder.name
    return {"model": name, "max_length": model.encoder.max_length, "device": str(model.device)}  # no paths: the
    # server may listen on every interface


def serve_reward_main(argv: list[str] | None = None) -> int:
    """``python -m rlhf_demo serve-reward ...``: serve until stopped. Bad input: one ``error:`` line, exit 2."""
    (args,) = parse_command(serve_reward_parser(), argv)
    try:
        args.validate()
        folder = reward_model_folder(args.model)
        sock = bind(args.host, args.port)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the port is taken, the host unknown
        print(f"error: cannot listen on {args.host}:{args.port}: {e.strerror or e}", file=sys.stderr)
        return 2
    with sock:
        try:
            from rlhf_demo.reward.model import load_reward_model

            model = load_reward_model(folder, args.device)
        except (ValueError, OSError, KeyError) as e:  # a folder with a broken meta file, or its backbone gone
            print(f"error: --model {args.model}: cannot load the reward model: {e}", file=sys.stderr)
            return 2
        serve(model, model_info(model, folder, args.model), args, sock)
    return 0


def serve(model, info: dict, args: ServeRewardArguments, sock: socket.socket) -> None:
    """Step 5: the app on `sock`, until Ctrl-C or SIGTERM."""
    import uvicorn

    from rlhf_demo.serving.reward_server import MB, Limits, create_app

    limits = Limits(max_body_bytes=int(args.max_body_mb * MB), max_texts=args.max_texts, max_batch=args.max_batch,
                    batch_wait_s=args.batch_wait_ms / 1000)
    app = create_app(lambda prompts, replies: model.score(prompts, replies).tolist(), info, limits)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"[serve-reward] {info['model']} (max_length {info['max_length']}, {info['device']}) on "
          f"http://{host}:{args.port}: POST /get_reward (OpenRLHF), POST /compute_score (verl), GET /health",
          file=sys.stderr, flush=True)
    config = uvicorn.Config(app, log_level="info", access_log=args.access_log, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
