"""The Compare tab's preset "Make a gold-labelled proxy": Goodhart's law a class can watch (Gao et al. 2022).

The app's GOLD reward model stands in for the humans. It labels pairs of the base policy's own replies to the
training prompts, and a PROXY reward model is trained on a limited number of those labels: a learnt, imperfect copy
of gold. The proxy becomes the active model (what PPO and best-of-N optimise); gold stays gold, only watched. Push the
proxy hard (PPO's reward-hacking demo, large N) and the gold score peaks and falls while the proxy keeps rising.

    1. `start(n_labels, noise, seed)`  check the request, then one background job (kind JOB) on the app's runner:
    2.   sample two replies per training prompt from the base policy (PPO's reply length and temperature)
    3.   gold labels them; the labelled pairs are saved as an hh-rlhf file, <data dir>/labelled/<proxy>.jsonl
    4.   the proxy trains on them with the Reward tab's default settings on the app's reward backbone
    5.   the proxy becomes the active model, and the gold model is pinned (`GoldChoice.set`), so it stays gold
    (steps 2-4 are `goodhart.make_gold_labelled_proxy`; stop works at every step: stopped while sampling, nothing
    is saved; stopped while training, the proxy trained so far is saved but NOT made active)

Errors the user can fix are `ValueError`s with a sentence to show. The caller (the UI) checks the instructor lock.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from rlhf_demo.frontier.goodhart import PROXY_EVAL_PAIRS, make_gold_labelled_proxy, preference_records
from rlhf_demo.jobs import JobRunner, JobSnapshot
from rlhf_demo.storage import write_jsonl_atomic

JOB = "gold-proxy"  # the job kind on the app's job runner
TITLE = "Gold-labelled proxy"
N_LABELS = (50, 400)  # the preset's range of gold labels (the proxy's training pairs)
DEFAULT_LABELS = 100
MAX_NOISE = 0.4  # share of labels flipped at most (Coste et al. 2024 use 0.25)
LABELLED_DIR = "labelled"  # under the data dir: one hh-rlhf file per proxy
NO_GOLD = ("Train a gold model first: a reward model on more (or other) data in tab 3. It labels the policy's replies, "
           "and the proxy learns from those labels.")


def check_request(n_labels, noise, seed) -> tuple[int, float, int]:
    """(n_labels, noise, seed) as numbers, or a ValueError that says what to change."""
    lo, hi = N_LABELS
    if isinstance(n_labels, bool) or not isinstance(n_labels, (int, float)) or n_labels != int(n_labels) \
            or not lo <= n_labels <= hi:
        raise ValueError(f"The number of gold labels must be a whole number from {lo} to {hi}, got {n_labels!r:.40}.")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0.0 <= noise <= MAX_NOISE:
        raise ValueError(f"Label noise must be a share from 0 to {MAX_NOISE} (0.25 flips a quarter of the labels), "
                         f"got {noise!r:.40}.")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"The seed must be a whole number, got {seed!r:.40}.")
    return int(n_labels), float(noise), seed


class GoldProxyService:
    """Make a proxy reward model from the gold model's labels of the policy's replies (`start`), stop it (`stop`),
    read its state (`snapshot`: progress, message, ETA; `result` once done)."""

    def __init__(self, root: str | Path, jobs: JobRunner, reward, gold, policy,
                 train_prompts: Callable[[], list[str]], backbone: str):
        self.root = Path(root)  # the data dir: labelled files go to root/labelled/
        self.jobs = jobs
        self.reward = reward  # the app's RewardService: its registry trains, saves and activates the proxy
        self.gold = gold  # the app's GoldChoice
        self.policy = policy  # the app's LoadedPolicy: replies come from its base model
        self.train_prompts = train_prompts  # PPO's prompt pool (the train split), never the held-out prompts
        self.backbone = backbone  # the reward backbone the app started with ("minilm", "policy", a folder)

    # -- 1. the request -------------------------------------------------------------------------------------
    def gold_name(self) -> str | None:
        """The model that labels: the app's gold model, else the active one (a class that trained one reward model
        makes it gold this way: the new proxy becomes active, and the first model is gold from then on)."""
        return self.gold.name() or self.reward.models.active

    def prompts(self) -> list[str]:
        """The distinct training prompts, in the data's order."""
        return list(dict.fromkeys(self.train_prompts()))

    def start(self, n_labels, noise=0.0, seed=0) -> str:
        """Start the preset as a background job; returns a sentence for the status line."""
        from rlhf_demo.reward.config import RewardConfig
        from rlhf_demo.reward.timing import estimate_seconds, last_measurement

        n_labels, noise, seed = check_request(n_labels, noise, seed)
        gold = self.gold_name()
        if gold is None:
            raise ValueError(NO_GOLD)
        prompts = self.prompts()
        if len(prompts) < n_labels + PROXY_EVAL_PAIRS:
            most = len(prompts) - PROXY_EVAL_PAIRS
            room = (f"enough for at most {most} labels" if most >= N_LABELS[0]
                    else f"too few for this preset (it needs {N_LABELS[0] + PROXY_EVAL_PAIRS})")
            raise ValueError(f"This data has {len(prompts)} training prompts: {room}, since {PROXY_EVAL_PAIRS} more "
                             "pairs are kept apart to check the proxy against gold.")
        cfg = RewardConfig(backbone=self.backbone)  # the Reward tab's defaults
        backbone = self.reward.backbones.resolve(cfg.backbone)

        def train_eta(n: int) -> float | None:
            return estimate_seconds(n, last_measurement(self.reward.models.list(), cfg.backbone), cfg)

        settings = dict(gold=gold, n_labels=n_labels, noise=noise, seed=seed, prompts=prompts, cfg=cfg,
                        backbone=backbone, train_eta=train_eta)
        self.jobs.submit(JOB, TITLE, lambda ctx: self._run(ctx, **settings),
                         data={"gold": gold, "n_labels": n_labels, "noise": noise, "eta_s": None, "eta_at": time.time()})
        flips = f", {noise:.0%} of them flipped" if noise else ""
        return (f"Making a proxy from {n_labels} labels by the gold model {gold}{flips}: sampling the policy's "
                "replies, then training.")

    def stop(self) -> str:
        return "stopping" if self.jobs.stop(JOB) else "not running"

    def snapshot(self) -> JobSnapshot:
        """The preset's job as every viewer sees it (idle before the first one)."""
        return self.jobs.snapshot(JOB)

    # -- 2-5. the job ----------------------------------------------------------------------------------------
    def _run(self, ctx, gold: str, n_labels: int, noise: float, seed: int, prompts: list[str], cfg, backbone,
             train_eta) -> dict:
        from rlhf_demo.frontier.best_of_n import policy_sampler
        from rlhf_demo.ppo.config import PPOConfig

        ctx.update(progress=0.0, message=f"loading the policy and the gold model {gold}")
        gold_model = self.reward.load(gold)
        model, tok = self.policy.get()  # sampling only: the arena's base model (adapters go into its own copies)
        ppo = PPOConfig()  # the replies PPO itself would sample: same length, same temperature
        generate = policy_sampler(model, tok, ppo.response_length, ppo.temperature, device=self.policy.device,
                                  decoding=self.policy.backend())
        name = self.reward.models.new_name(f"proxy-gold{n_labels}")
        labels_file = self.root / LABELLED_DIR / f"{name}.jsonl"

        def save_file(labelled: list[dict]) -> str:
            write_jsonl_atomic(labels_file, preference_records(labelled))
            return str(labels_file)

        def train_proxy(train_pairs, eval_pairs, on_progress) -> dict:
            src = self.reward.source
            label_noise = f" ({noise:.0%} of the labels flipped)" if noise else ""
            trained_on = {"source": src.identity, "description": f"the policy's replies labelled by {gold}{label_noise}",
                          "split": f"{LABELLED_DIR}/{labels_file.name}", "n_pairs": len(train_pairs), "n_votes": 0,
                          "gold": gold, "noise": noise,
                          "what": f"{len(train_pairs)} pairs of the policy's replies labelled by {gold}"}
            result = self.reward.models.train(cfg, train_pairs, eval_pairs, backbone, name=name, activate=False,
                                              should_stop=ctx.should_stop, on_progress=on_progress,
                                              trained_on=trained_on)
            return result.to_dict()

        out = make_gold_labelled_proxy(ctx, generate=generate, gold=gold_model, train_prompts=prompts,
                                       n_labels=n_labels, train_proxy=train_proxy, noise=noise, seed=seed,
                                       save_file=save_file, train_eta=train_eta)
        out.update(name=name, gold=gold, activated=False)
        if ctx.should_stop():  # stopped while training: the proxy so far is saved, a class keeps its active model
            ctx.update(message=f"stopped: {name} was saved part-trained and is not active", eta_s=0.0,
                       eta_at=time.time())
            return out
        self.reward.models.set_active(name)  # the proxy: what PPO and best-of-N optimise from now on
        self.gold.set(gold)  # pinned: the default would pick "the most pairs", which need not be this gold model
        out["activated"] = True
        ctx.update(progress=1.0, eta_s=0.0, eta_at=time.time(),
                   message=f"{name} agrees with gold on {out['eval_accuracy']:.0%} of {out['eval_pairs']} held-out "
                           f"pairs; it is the active model now (the proxy), {gold} stays gold")
        return out
