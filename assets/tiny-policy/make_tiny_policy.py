"""The `tiny` offline policy: a tokenizer + small Llama trained from scratch on our own dialogue text.

The Hugging Face Hub is not reachable from where this app runs, so the policy model used by the Vote arena
(generate two replies, let the user pick one) and by the PPO tab (fine-tune it with LoRA) is built here, from
the CHOSEN transcripts of the bundled preference set (`assets/bundled/train.jsonl`). The recipe is:

1. train a tokenizer (`tokenizers` library) on the transcripts: every corpus word is one token, anything else
   falls back to byte-level symbols, so every string can be encoded (no <unk>) and decode(encode(text)) == text,
   newlines and "Human:"/"Assistant:" included. The model can therefore only write words it has read.
2. wrap it as a `PreTrainedTokenizerFast` with `<|endoftext|>` as bos/eos/pad (GPT-2 convention).
3. train a small `LlamaForCausalLM` (standard architecture: `AutoModelForCausalLM.from_pretrained` loads it
   without trust_remote_code, and peft finds `q_proj`/`v_proj` for LoRA) with plain next-token prediction on
   "\n\nHuman: ...\n\nAssistant: ...<|endoftext|>" so it learns the dialogue format and to stop after answering.
4. `save_pretrained` model (safetensors, float32) + tokenizer + a model card into one folder (< 5 MB).

Everything is seeded and deterministic: building twice on the same machine gives bit-identical weights.

Rebuild the shipped model with:

    python assets/tiny-policy/make_tiny_policy.py --data assets/bundled --out assets/tiny-policy
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import random
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

EOS_TOKEN = "<|endoftext|>"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TINY_POLICY_DIR = REPO_ROOT / "assets" / "tiny-policy"


@dataclass(frozen=True)
class TinyPolicyConfig:
    # --- tokenizer ---
    vocab_size: int = 4096  # upper bound: eos + 256 byte symbols + up to ~3.8k corpus words. The bundled set has
    #                         ~3.2k distinct words, so all of them fit and the model never has to spell a word.
    min_frequency: int = 1  # keep words seen once too: with ~20k words of text, 9% of them are one-offs.
    # --- model (LlamaForCausalLM) ---
    hidden_size: int = 128  # width; ~1.1M parameters in total -> ~4.4 MB of float32 safetensors.
    intermediate_size: int = 256  # SwiGLU MLP width, 2x hidden (Llama uses ~2.7x); keeps float32 under 5 MB
    #                               with the ~3.4k x 128 embedding, which is the biggest matrix.
    num_layers: int = 4  # depth; 4 layers is enough to learn the turn format and local grammar.
    num_heads: int = 4  # head_dim = 128 / 4 = 32.
    max_position: int = 512  # longest prompt+reply the model can attend over (RoPE, so this is only a cap).
    # --- data ---
    block_size: int = 256  # training sequence length; long transcripts keep their LAST turns that fit, so
    #                        every example still ends with the final Assistant reply followed by eos.
    first_turn_examples: bool = True  # also train on "Human: q1 / Assistant: a1 <eos>" cut from multi-turn
    #                                   transcripts: the arena asks single-turn questions, and this teaches
    #                                   the model to answer one question and stop.
    # --- optimisation ---
    steps: int = 400  # ~1.5 min on one core; ~20 epochs over the bundled set: fluent enough, past the point
    #                   where it would only babble, short of reciting whole training replies verbatim.
    batch_size: int = 16  # sequences per step (padded to the longest in the batch).
    lr: float = 3e-3  # peak AdamW learning rate; tiny models tolerate (and need) a high lr.
    warmup_steps: int = 30  # linear warmup, then cosine decay to lr * min_lr_ratio.
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.01
    grad_clip: float = 1.0  # clip the global grad norm; keeps the high-lr start stable.
    log_every: int = 50  # print the training loss every N steps (0 = silent).
    num_threads: int = 1  # torch threads while building. 1 makes the result independent of the machine's core
    #                       count (bit-exact rebuilds) and is faster than 2 when other jobs share the CPU.


# ----------------------------------------------------------------------------------------------------------
# data


def load_chosen_transcripts(data_dir: str | Path) -> list[str]:
    """Read the CHOSEN transcripts of `<data_dir>/train.jsonl` (lines of {"chosen": ..., "rejected": ...}).

    Only train.jsonl is used: test.jsonl stays held out for the reward-model evaluation.
    """
    path = Path(data_dir) / "train.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found (expected the bundled preference set)")
    transcripts = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                transcripts.append(json.loads(line)["chosen"])
    return transcripts


def split_turns(transcript: str) -> list[str]:
    """Split "\\n\\nHuman: a\\n\\nAssistant: b\\n\\nHuman: c..." into exchanges that each start with "\\n\\nHuman:"."""
    return [t for t in re.split(r"(?=\n\nHuman:)", transcript) if t]


def make_examples(transcripts: list[str], tokenizer, config: TinyPolicyConfig) -> list[list[int]]:
    """Token-id lists, each `<transcript tokens> + [eos]`, at most `config.block_size` long."""
    eos = tokenizer.eos_token_id
    encode = tokenizer.backend_tokenizer.encode  # raw `tokenizers` encode: no special tokens, no length warning
    examples = []
    for text in transcripts:
        turns = split_turns(text)
        # drop the earliest exchanges until the rest (+ eos) fits into block_size
        for start in range(len(turns)):
            ids = encode("".join(turns[start:])).ids + [eos]
            if len(ids) <= config.block_size:
                break
        examples.append(ids[: config.block_size])  # a single over-long exchange is cut at the right
        if config.first_turn_examples and len(turns) > 1 and "\n\nAssistant:" in turns[0]:
            ids = encode(turns[0]).ids + [eos]
            examples.append(ids[: config.block_size])
    return examples


# ----------------------------------------------------------------------------------------------------------
# tokenizer


def train_tokenizer(transcripts: list[str], config: TinyPolicyConfig = TinyPolicyConfig()):
    """A whole-word vocabulary with byte fallback, wrapped as a `PreTrainedTokenizerFast`.

    Why not a plain BPE: the bundled set is only ~20k words. A BPE vocabulary made of sub-word pieces lets a model
    trained on that little text glue pieces into non-words ("Congratulrope"). Here every word of the corpus
    (as split by the GPT-2 byte-level pre-tokenizer, so " egg", "egg", "." and "\n" are separate entries) is ONE
    token, so the model can only ever emit words it has read. Text outside the vocabulary (a new word in a user
    prompt, an emoji) still encodes, as its 256 byte-level symbols: nothing is ever <unk> and
    decode(encode(text)) == text, newlines and "Human:"/"Assistant:" included.

    Built with the `tokenizers` library: a `WordLevelTrainer` counts and ranks the words (most frequent first,
    keeping at most vocab_size - 257 of them), then a `BPE` model with `ignore_merges=True` and no merges uses
    that vocabulary: a known word maps to its token, anything else falls apart into byte symbols.
    No bos is prepended automatically: prompts are encoded exactly as written, like the training examples.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    byte_symbols = sorted(pre_tokenizers.ByteLevel.alphabet())  # 256 printable stand-ins for the raw bytes

    # 1. rank the corpus words; id order = frequency order (ties broken by the trainer deterministically)
    counter = Tokenizer(models.WordLevel(unk_token=EOS_TOKEN))
    counter.pre_tokenizer = pre_tokenizer
    trainer = trainers.WordLevelTrainer(
        vocab_size=config.vocab_size - len(byte_symbols),
        min_frequency=config.min_frequency,
        special_tokens=[EOS_TOKEN],
        show_progress=False,
    )
    counter.train_from_iterator(transcripts, trainer)
    words = [w for w, _ in sorted(counter.get_vocab().items(), key=lambda kv: kv[1]) if w != EOS_TOKEN]

    # 2. vocabulary: eos (id 0), the byte symbols, then the words (single-byte words are already there)
    vocab = {EOS_TOKEN: 0}
    for token in byte_symbols + words:
        vocab.setdefault(token, len(vocab))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([EOS_TOKEN])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=EOS_TOKEN,
        eos_token=EOS_TOKEN,
        pad_token=EOS_TOKEN,
        model_max_length=config.max_position,
        clean_up_tokenization_spaces=False,  # keep decode(encode(x)) == x
    )


# ----------------------------------------------------------------------------------------------------------
# model + training


def make_model(vocab_size: int, eos_id: int, config: TinyPolicyConfig):
    """A freshly initialised (seed it first!) LlamaForCausalLM with tied input/output embeddings."""
    from transformers import LlamaConfig, LlamaForCausalLM

    model_config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_heads,
        max_position_embeddings=config.max_position,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,  # saves vocab*hidden parameters (1/4 of the model)
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
        dtype="float32",  # config.json says float32 -> from_pretrained(dtype="auto") loads float32
    )
    model = LlamaForCausalLM(model_config)
    model.generation_config.bos_token_id = eos_id
    model.generation_config.eos_token_id = eos_id
    model.generation_config.pad_token_id = eos_id
    return model


def collate(batch: list[list[int]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a list of id lists. Padding is masked out of attention and of the loss (label -100)."""
    T = max(len(x) for x in batch)
    input_ids = torch.full((len(batch), T), pad_id, dtype=torch.long)  # (B, T)
    attention_mask = torch.zeros((len(batch), T), dtype=torch.long)  # (B, T)
    labels = torch.full((len(batch), T), -100, dtype=torch.long)  # (B, T); the model shifts them itself
    for i, ids in enumerate(batch):
        n = len(ids)
        input_ids[i, :n] = torch.tensor(ids)
        attention_mask[i, :n] = 1
        labels[i, :n] = torch.tensor(ids)  # includes the final eos: that is how it learns to stop
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def lr_at(step: int, config: TinyPolicyConfig) -> float:
    """Linear warmup then cosine decay from config.lr to config.lr * min_lr_ratio."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return config.lr * (config.min_lr_ratio + (1.0 - config.min_lr_ratio) * cosine)


def train(model, examples: list[list[int]], pad_id: int, seed: int, config: TinyPolicyConfig) -> list[float]:
    """Plain next-token prediction; returns the per-step training losses."""
    g = torch.Generator().manual_seed(seed)  # batch sampling has its own generator
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, betas=(0.9, 0.95), weight_decay=config.weight_decay
    )
    model.train()
    losses = []
    t0 = time.time()
    for step in range(config.steps):
        idx = torch.randint(len(examples), (config.batch_size,), generator=g).tolist()
        batch = collate([examples[i] for i in idx], pad_id)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, config)
        loss = model(**batch).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        losses.append(loss.item())
        if config.log_every and (step % config.log_every == 0 or step == config.steps - 1):
            print(f"step {step:4d}/{config.steps}  loss {loss.item():.3f}  {time.time() - t0:.0f}s", file=sys.stderr)
    model.eval()
    return losses


def build_tiny_policy(
    transcripts: list[str],
    out_dir: str | Path,
    *,
    seed: int = 0,
    config: TinyPolicyConfig = TinyPolicyConfig(),
    source: str = "",
) -> Path:
    """Train tokenizer + tiny Llama on `transcripts` and save both (plus README.md) into `out_dir`.

    Deterministic: same transcripts, seed, config and machine -> bit-identical weights. `source` is a free-text
    description of where the transcripts came from, recorded in the model card.
    """
    if not transcripts:
        raise ValueError("need at least one transcript")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()

    # every source of randomness is seeded; deterministic kernels where torch offers a choice
    random.seed(seed)
    torch.manual_seed(seed)
    previous_det, previous_threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(config.num_threads)
    try:
        tokenizer = train_tokenizer(transcripts, config)
        examples = make_examples(transcripts, tokenizer, config)
        torch.manual_seed(seed)  # init weights from a fixed state, independent of the tokenizer step
        model = make_model(len(tokenizer), tokenizer.eos_token_id, config)
        losses = train(model, examples, tokenizer.pad_token_id, seed, config)
    finally:
        torch.use_deterministic_algorithms(previous_det)
        torch.set_num_threads(previous_threads)

    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    stats = {
        "transcripts": len(transcripts),
        "vocab": len(tokenizer),
        "examples": len(examples),
        "train_tokens": sum(len(e) for e in examples),
        "parameters": sum(p.numel() for p in model.parameters()),
        "first_loss": round(losses[0], 4),
        "final_loss": round(sum(losses[-20:]) / len(losses[-20:]), 4),  # mean of the last 20 steps
        "train_seconds": round(time.time() - t0, 1),
        "data_sha256": hashlib.sha256("\x1e".join(transcripts).encode("utf-8")).hexdigest(),
    }
    (out_dir / "README.md").write_text(model_card(stats, seed, config, source), encoding="utf-8")
    return out_dir


def model_card(stats: dict, seed: int, config: TinyPolicyConfig, source: str) -> str:
    """The README.md written next to the weights."""
    import tokenizers
    import transformers

    cfg = "\n".join(f"| `{k}` | {v} |" for k, v in asdict(config).items())
    return f"""# tiny-policy: the RLHF Playground's offline policy model

A deliberately tiny causal language model (`LlamaForCausalLM`, {stats['parameters']:,} parameters, float32)
with its own tokenizer ({stats['vocab']} tokens: one per corpus word + 256 byte-level symbols as fallback,
`{EOS_TOKEN}` = bos = eos = pad), trained from scratch on the chosen transcripts of the bundled hh-rlhf preference set. It speaks the hh-rlhf format
`"\\n\\nHuman: ...\\n\\nAssistant: ..."` and ends its reply with `{EOS_TOKEN}` (callers should also cut at a new
`"\\n\\nHuman:"`). It is a teaching toy: answers are English-ish and on-format, not smart or reliable.

It is the policy for the Vote arena (sampling replies) and the PPO tab (LoRA on `q_proj`/`v_proj`).

```python
from transformers import AutoModelForCausalLM, AutoTokenizer
tok = AutoTokenizer.from_pretrained("assets/tiny-policy")
model = AutoModelForCausalLM.from_pretrained("assets/tiny-policy")
ids = tok("\\n\\nHuman: How do I boil an egg?\\n\\nAssistant:", return_tensors="pt")
out = model.generate(**ids, do_sample=True, temperature=0.7, top_k=0, max_new_tokens=48)
print(tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True))
```

## How it was built

Source: {source or "(in-memory transcripts)"}

- {stats['transcripts']} transcripts -> {stats['examples']} training examples ({stats['train_tokens']:,} tokens).
  A long transcript keeps its last exchanges that fit in {config.block_size} tokens; the first exchange of each
  multi-turn transcript is also used on its own (`first_turn_examples`).
- {config.steps} AdamW steps of next-token prediction, seed {seed}; loss {stats['first_loss']} -> {stats['final_loss']}
  (mean of the last 20 steps), {stats['train_seconds']} s on this machine ({platform.machine()},
  {config.num_threads} torch thread(s)).
- Built with torch {torch.__version__}, transformers {transformers.__version__}, tokenizers {tokenizers.__version__}.
- sha256 of the training transcripts: `{stats['data_sha256']}`

Rebuild (deterministic: same data + seed + machine -> identical weights):

```
python assets/tiny-policy/make_tiny_policy.py --data assets/bundled --out assets/tiny-policy
```

| config field | value |
|---|---|
{cfg}
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="assets/bundled", help="folder with train.jsonl (chosen transcripts)")
    parser.add_argument("--out", default="assets/tiny-policy", help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=TinyPolicyConfig.steps)
    args = parser.parse_args(argv)

    transcripts = load_chosen_transcripts(args.data)
    config = TinyPolicyConfig(steps=args.steps)
    source = f"chosen side of `{Path(args.data) / 'train.jsonl'}` (test.jsonl held out)"
    out = build_tiny_policy(transcripts, args.out, seed=args.seed, config=config, source=source)
    size = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    print(json.dumps({"out": str(out), "files": sorted(f.name for f in out.iterdir()), "bytes": size}))


if __name__ == "__main__":
    main()
