"""The arena: contestants, batched per-row generation (temperatures, LoRA adapters), rounds and votes."""

import dataclasses
import os
import random
import threading
import time

import pytest
import torch

from rlhf_demo.arena.arena import Arena, Round, prompt_picker
from rlhf_demo.arena.contestants import DEFAULT_CONTESTANTS, ArenaError, Contestant, ContestantRegistry
from rlhf_demo.arena.generator import EMPTY_REPLY, PerRowTemperature, PolicyGenerator
from rlhf_demo.models.generation import clean_reply
from rlhf_demo.arena.votes import VoteError, VoteStore
from rlhf_demo.data.hh import STOP_STRINGS, load_jsonl

PROMPT = "\n\nHuman: How do I bake bread at home?\n\nAssistant:"
CORPUS = [
    "\n\nHuman: How do I bake bread at home?\n\nAssistant: Mix flour, water, yeast and salt, then knead it.",
    "\n\nHuman: What is the capital of France?\n\nAssistant: The capital of France is Paris.",
    "\n\nHuman: Can you help me with my homework?\n\nAssistant: Sure, what subject is it?",
] * 5


# ------------------------------------------------------------------------------------------ fixtures


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models: see conftest


def bpe_tokenizer():
    """A byte-level BPE tokenizer trained in a few milliseconds on a tiny corpus (no downloads)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>")


@pytest.fixture(scope="module")
def tokenizer():
    return bpe_tokenizer()


def tiny_llama(vocab_size, seed=0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
                         initializer_range=0.5,  # large random weights: well-separated logits, so "greedy" is crisp
                         bos_token_id=0, eos_token_id=0, pad_token_id=0)
    return LlamaForCausalLM(config).eval()


@pytest.fixture(scope="module")
def model(tokenizer):
    return tiny_llama(len(tokenizer))


@pytest.fixture(scope="module")
def adapter_dir(model, tmp_path_factory):
    """A random (non-zero) LoRA adapter saved like a PPO checkpoint."""
    import copy

    from peft import LoraConfig, get_peft_model

    torch.manual_seed(1)
    peft_model = get_peft_model(copy.deepcopy(model), LoraConfig(r=4, lora_alpha=32, target_modules=["q_proj", "v_proj"],
                                                                 init_lora_weights=False))
    path = tmp_path_factory.mktemp("ckpt") / "step-10"
    peft_model.save_pretrained(path)
    return path


def reply_text(tokenizer, new_tokens: list[int]) -> str:
    """Reference: the reply a person sees for a row of generated tokens (cut at EOS = id 0, cleaned)."""
    row = new_tokens[: new_tokens.index(0)] if 0 in new_tokens else new_tokens
    return clean_reply(tokenizer.decode(row, skip_special_tokens=True)) or EMPTY_REPLY


def greedy_reply(model, tokenizer, prompt, max_new_tokens):
    """Reference: plain greedy decoding of one prompt, cleaned the same way as arena replies."""
    ids = tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**ids, do_sample=False, max_new_tokens=max_new_tokens, pad_token_id=0, eos_token_id=0)
    return reply_text(tokenizer, out[0, ids["input_ids"].shape[1]:].tolist())


def spy_on_generate(monkeypatch, model) -> list[dict]:
    """Record every `model.generate` call: its input ids, attention mask, max_new_tokens and output."""
    calls, real = [], model.generate

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append({"input_ids": kwargs["input_ids"], "attention_mask": kwargs["attention_mask"],
                      "max_new_tokens": kwargs["max_new_tokens"], "out": out})
        return out

    monkeypatch.setattr(model, "generate", spy)
    return calls


COLD = 1e-4  # temperature so low that sampling == greedy


# ------------------------------------------------------------------------------------------ contestants


def test_registry_starts_with_two_base_contestants_and_is_editable(tmp_path, adapter_dir):
    reg = ContestantRegistry()
    assert [(c.name, c.temperature, c.adapter_path) for c in reg.list()] == [("base-t0.7", 0.7, None),
                                                                             ("base-t1.0", 1.0, None)]
    ck = reg.add_checkpoint("ppo-step-10", str(adapter_dir))
    assert reg.get("ppo-step-10") == ck and ck.adapter_path == str(adapter_dir.resolve())
    assert "ppo-step-10" in reg and len(reg) == 3
    with pytest.raises(ArenaError, match="already"):
        reg.add(Contestant("base-t0.7", 0.3))
    with pytest.raises(ArenaError, match="adapter_config.json"):
        reg.add_checkpoint("broken", str(tmp_path))
    reg.remove("base-t1.0")
    assert [c.name for c in reg.list()] == ["base-t0.7", "ppo-step-10"]
    with pytest.raises(KeyError):
        reg.get("base-t1.0")
    with pytest.raises(ArenaError, match="temperature"):
        Contestant("cold", 0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ck.temperature = 2.0


def test_registry_is_thread_safe():
    reg = ContestantRegistry([])
    threads = [threading.Thread(target=lambda i=i: [reg.add(Contestant(f"c{i}-{j}", 1.0)) for j in range(50)])
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reg) == 400 and len({c.name for c in reg.list()}) == 400


# ------------------------------------------------------------------------------------------ generation pieces


def test_per_row_temperature_divides_each_row_by_its_own_temperature():
    scores = torch.tensor([[2.0, 4.0], [2.0, 4.0]])
    out = PerRowTemperature([0.5, 2.0])(torch.zeros(2, 1, dtype=torch.long), scores)
    assert out.tolist() == [[4.0, 8.0], [1.0, 2.0]]


def test_clean_reply_stops_at_the_next_turn():
    assert clean_reply(" Paris.\n\nHuman: and Spain?\n\nAssistant: Madrid") == "Paris."
    assert clean_reply(" Sure!\n\nAssistant: more") == "Sure!"
    assert clean_reply(" cut off by the token budget\n\nHum") == "cut off by the token budget"
    assert clean_reply("  Hello there  ") == "Hello there"


# ------------------------------------------------------------------------------------------ PolicyGenerator


def test_both_replies_come_from_one_generate_call_and_are_reproducible(model, tokenizer, monkeypatch):
    gen = PolicyGenerator(model, tokenizer, max_new_tokens=16)
    calls = spy_on_generate(monkeypatch, model)
    prompts = [PROMPT, "\n\nHuman: Hi\n\nAssistant:"]  # different lengths -> left padding
    first = gen.generate(prompts, list(DEFAULT_CONTESTANTS), seed=3)
    assert len(calls) == 1 and calls[0]["input_ids"].shape[0] == 2
    # row i of that one call is reply i: the tokens generated after the (padded) prompt, cut at EOS and cleaned
    prompt_len = calls[0]["input_ids"].shape[1]
    assert first == [reply_text(tokenizer, row) for row in calls[0]["out"][:, prompt_len:].tolist()]
    assert EMPTY_REPLY not in first and not any(s in r for r in first for s in STOP_STRINGS)
    assert gen.generate(prompts, list(DEFAULT_CONTESTANTS), seed=3) == first
    state = torch.get_rng_state()
    gen.generate(prompts, list(DEFAULT_CONTESTANTS), seed=4)
    assert torch.equal(torch.get_rng_state(), state)  # seeding a round leaves the global random stream alone


def test_each_row_uses_its_own_temperature_and_left_padding_is_harmless(model, tokenizer):
    gen = PolicyGenerator(model, tokenizer, max_new_tokens=12)
    short = "\n\nHuman: Hi\n\nAssistant:"
    # a cold row must reproduce greedy decoding, whatever the hot row next to it does and however it is padded
    for seed in range(3):
        cold, hot = gen.generate([short, PROMPT], [Contestant("cold", COLD), Contestant("hot", 5.0)], seed=seed)
        assert cold == greedy_reply(model, tokenizer, short, 12)
    hot_replies = {gen.generate([short, PROMPT], [Contestant("cold", COLD), Contestant("hot", 5.0)], seed=s)[1]
                   for s in range(3)}
    assert len(hot_replies) > 1  # the hot row really samples


def test_lora_contestants_share_one_mixed_adapter_batch(model, tokenizer, adapter_dir):
    import peft

    base_names = {n for n, _ in model.named_parameters()}
    gen = PolicyGenerator(model, tokenizer, max_new_tokens=12)
    base, ckpt = Contestant("base", COLD), Contestant("ckpt", COLD, str(adapter_dir))
    r_base, r_ckpt = gen.generate([PROMPT, PROMPT], [base, ckpt], seed=0)
    assert r_base == greedy_reply(model, tokenizer, PROMPT, 12)
    merged = peft.PeftModel.from_pretrained(tiny_llama(len(tokenizer)), str(adapter_dir)).eval()
    assert r_ckpt == greedy_reply(merged, tokenizer, PROMPT, 12)
    assert r_ckpt != r_base  # the adapter changes the policy
    assert {n for n, _ in model.named_parameters()} == base_names  # the shared base model got no LoRA layers
    # cached: asking again does not load the adapter a second time
    gen.generate([PROMPT, PROMPT], [ckpt, base], seed=1)
    assert len(gen._peft.peft_config) == 1


def test_an_overwritten_checkpoint_is_reloaded(model, tokenizer, tmp_path):
    import copy

    import peft

    def save(seed):
        torch.manual_seed(seed)
        lora = peft.LoraConfig(r=4, lora_alpha=32, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
        peft.get_peft_model(copy.deepcopy(model), lora).save_pretrained(tmp_path / "latest")
        for f in (tmp_path / "latest").iterdir():  # make the change visible even on coarse-mtime file systems
            os.utime(f, ns=(time.time_ns() + seed * 10**9, time.time_ns() + seed * 10**9))

    gen = PolicyGenerator(model, tokenizer, max_new_tokens=12)
    ckpt = Contestant("latest", COLD, str(tmp_path / "latest"))
    replies = []
    for seed in (1, 2):
        save(seed)
        replies.append(gen.generate([PROMPT], [ckpt], seed=0)[0])
        merged = peft.PeftModel.from_pretrained(tiny_llama(len(tokenizer)), str(tmp_path / "latest")).eval()
        assert replies[-1] == greedy_reply(merged, tokenizer, PROMPT, 12)
    assert replies[0] != replies[1] and len(gen._peft.peft_config) == 1  # the stale adapter was dropped


def test_long_prompts_keep_their_end(model, tokenizer, monkeypatch):
    """A conversation longer than the model's context loses its OLDEST tokens: the turn being answered, and the
    "Assistant:" the reply continues, are what the policy sees (after `format_prompt`, as for a chat template)."""
    last_turn = "\n\nHuman: What is the capital of France?\n\nAssistant:"
    long_prompt = "\n\nHuman: " + "tell me more about bread " * 200 + "\n\nAssistant: Sure." + last_turn
    header = "A conversation with a helpful assistant."
    gen = PolicyGenerator(model, tokenizer, max_new_tokens=16, format_prompt=lambda p: header + p)
    full = tokenizer(header + long_prompt)["input_ids"]
    assert len(full) > model.config.max_position_embeddings  # longer than the model's context
    calls = spy_on_generate(monkeypatch, model)
    replies = gen.generate([long_prompt, PROMPT], list(DEFAULT_CONTESTANTS), seed=0)
    ids, mask = calls[0]["input_ids"], calls[0]["attention_mask"].bool()
    seen_long, seen_short = ids[0][mask[0]].tolist(), ids[1][mask[1]].tolist()
    assert len(seen_long) == model.config.max_position_embeddings - 16  # all that fits beside the 16-token reply
    assert seen_long == full[-len(seen_long):]  # cut from the left: the end is kept, token for token
    assert tokenizer.decode(seen_long).endswith(last_turn)
    assert not tokenizer.decode(seen_long).startswith(header)  # the oldest text is what went
    assert seen_short == tokenizer(header + PROMPT)["input_ids"]  # a prompt that fits is not cut
    assert len(replies) == 2 and EMPTY_REPLY not in replies


# ------------------------------------------------------------------------------------------ Arena


@pytest.fixture
def arena(model, tokenizer, tmp_path, sample_path):
    prompts = [p.prompt for p in load_jsonl(sample_path).pairs[:50]]
    store = VoteStore(tmp_path / "votes.db")
    # 16 new tokens keep these tests quick; the default budget (48) is in test_a_round_runs_with_the_default_budget
    yield Arena(store, ContestantRegistry(), PolicyGenerator(model, tokenizer, max_new_tokens=16),
                prompt_picker(prompts))
    store.close()


def test_a_round_runs_with_the_default_budget(arena, model, tokenizer, monkeypatch):
    """A round with the arena's default reply budget generates (and records) 48 new tokens at most. How long a round
    takes is a benchmark, not a test: `python benchmarks/arena_load.py --voters 1 --votes 10 --policy tiny`
    reports round_latency_ms_p50 / p95."""
    arena.generator = PolicyGenerator(model, tokenizer)  # default max_new_tokens
    calls = spy_on_generate(monkeypatch, model)
    rnd = arena.new_round(None, voter_id="s", seed=0)
    assert [c["max_new_tokens"] for c in calls] == [48]
    assert calls[0]["out"].shape[1] - calls[0]["input_ids"].shape[1] <= 48
    assert arena.store.get_round(rnd.round_id).settings["max_new_tokens"] == 48


def test_a_round_pits_two_different_hidden_contestants(arena):
    rnd = arena.new_round(None, voter_id="session-1", seed=0)
    assert isinstance(rnd, Round)
    assert {f.name for f in dataclasses.fields(rnd)} == {"round_id", "prompt", "reply_a", "reply_b",  # no names
                                                         "cut_a", "cut_b", "max_new_tokens"}
    assert rnd.prompt.startswith("\n\nHuman:") and rnd.prompt.endswith("\n\nAssistant:")
    stored = arena.store.get_round(rnd.round_id)
    assert stored.model_a != stored.model_b
    # the replies are contestant A's and B's to that prompt: the stored seed reproduces them, row for row
    a, b = arena.registry.get(stored.model_a), arena.registry.get(stored.model_b)
    assert arena.generator.generate([rnd.prompt] * 2, [a, b], seed=stored.settings["seed"]) == [rnd.reply_a, rnd.reply_b]
    assert EMPTY_REPLY not in (rnd.reply_a, rnd.reply_b)
    assert {stored.model_a, stored.model_b} <= {"base-t0.7", "base-t1.0"}
    assert (stored.reply_a, stored.reply_b, stored.voter_id) == (rnd.reply_a, rnd.reply_b, "session-1")
    assert stored.settings["temperature_a"] == arena.registry.get(stored.model_a).temperature
    assert stored.settings["max_new_tokens"] == 16 and "seed" in stored.settings

    result = arena.vote(rnd.round_id, "A", voter_id="session-1", voter_name="Ada")
    assert (result.model_a, result.model_b, result.winner) == (stored.model_a, stored.model_b, stored.model_a)
    assert arena.store.votes()[0].voter_name == "Ada"
    with pytest.raises(VoteError, match="already"):
        arena.vote(rnd.round_id, "B", voter_id="session-2")


def test_pairing_and_seating_are_random_but_seedable(arena):
    arena.registry.add(Contestant("base-t0.3", 0.3))
    seatings = set()
    for seed in range(12):
        r = arena.store.get_round(arena.new_round(None, "s", seed=seed).round_id)
        seatings.add((r.model_a, r.model_b))
    assert len(seatings) >= 4  # several pairs, in both orders
    assert any((b, a) in seatings for a, b in seatings)
    one = arena.new_round("Tell me a story", "s", seed=42)
    two = arena.new_round("Tell me a story", "s", seed=42)
    assert (one.reply_a, one.reply_b) == (two.reply_a, two.reply_b) and one.round_id != two.round_id


def test_typed_prompts_are_wrapped_and_bad_ones_refused(arena):
    rnd = arena.new_round("  Why is the sky blue?  ", "s", seed=1)
    assert rnd.prompt == "\n\nHuman: Why is the sky blue?\n\nAssistant:"
    with pytest.raises(ArenaError, match="empty"):
        arena.new_round("   \n ", "s")
    with pytest.raises(ArenaError, match="too long"):
        arena.new_round("x" * (arena.max_prompt_chars + 1), "s")
    arena.new_round("", "s", seed=2)  # empty box -> a prompt from the data set
    assert arena.store.stats()["rounds"] == 2  # refused prompts stored nothing


def test_regenerate_reuses_an_hh_prompt_as_is(arena):
    first = arena.new_round(None, "s", seed=3)
    again = arena.new_round(None, "s", seed=4, hh_prompt=first.prompt)
    assert again.prompt == first.prompt and again.round_id != first.round_id
    with pytest.raises(ArenaError, match="not both"):
        arena.new_round("typed", "s", hh_prompt=first.prompt)
    for bad in ["What is love?", "\n\nHuman: hi\n\nAssistant: hello", ""]:
        with pytest.raises(ArenaError, match="Not an hh-rlhf prompt"):
            arena.new_round(None, "s", hh_prompt=bad)


def test_arena_needs_two_contestants(arena):
    arena.registry.remove("base-t1.0")
    with pytest.raises(ArenaError, match="two contestants"):
        arena.new_round(None, "s")


def test_concurrent_players(arena):
    errors, n_threads, per_thread = [], 6, 3

    def player(i):
        try:
            for j in range(per_thread):
                rnd = arena.new_round(None, f"s{i}")
                arena.vote(rnd.round_id, random.choice(["A", "B", "tie", "both_bad"]), f"s{i}")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=player, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert arena.store.stats()["votes"] == arena.store.stats()["rounds"] == n_threads * per_thread


def test_rounds_asked_for_at_once_share_one_generate_call(model, tokenizer):
    """A class asking for rounds together is served in few generate calls: the rounds that wait while one call runs
    all go into the next. Each round still gets its own two replies, and a seeded round runs alone."""
    import threading
    import time

    gen = PolicyGenerator(model, tokenizer, max_new_tokens=8)
    calls: list[int] = []
    real = model.generate

    def slow_generate(*args, **kwargs):
        calls.append(kwargs["input_ids"].shape[0])
        time.sleep(0.3)  # a call long enough for the others to queue up behind it
        return real(*args, **kwargs)

    a, b = ContestantRegistry().list()
    prompts = [f"\n\nHuman: question number {i}?\n\nAssistant:" for i in range(9)]
    results: dict[int, list[str]] = {}
    model.generate = slow_generate
    try:
        threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, gen.generate([prompts[i]] * 2, [a, b])))
                   for i in range(9)]
        for t in threads:
            t.start()
            time.sleep(0.01)
        for t in threads:
            t.join()
        assert sorted(results) == list(range(9)) and all(len(r) == 2 for r in results.values())
        assert sum(calls) == 18 and len(calls) < 9 and max(calls) > 2  # 9 rounds in fewer, larger calls
        calls.clear()
        gen.generate([prompts[0]] * 2, [a, b], seed=1)
        assert calls == [2]  # seeded: alone, so reproducible
    finally:
        model.generate = real


class _NoisyDecoder:
    """The arena's tokenizer, except that every decoded reply carries control characters (as byte-level tokens of a
    real model sometimes do: U+0014 and U+001E were found in an export)."""

    def __init__(self, tokenizer):
        self._tok = tokenizer

    def __getattr__(self, name):
        return getattr(self._tok, name)

    def __call__(self, *a, **kw):
        return self._tok(*a, **kw)

    def decode(self, *a, **kw):
        return "\u0014" + self._tok.decode(*a, **kw) + " ok\u001e\u200b"


def test_replies_are_cleaned_where_they_are_made_and_prompts_stay_as_typed(arena, monkeypatch):
    from rlhf_demo.arena.export import export_pairs

    monkeypatch.setattr(arena.generator, "tokenizer", _NoisyDecoder(arena.generator.tokenizer))
    typed = "Why is the sky blue?\tAnswer  in two sentences."
    rnd = arena.new_round(typed, voter_id="s", seed=0)
    control = [chr(c) for c in range(32) if chr(c) not in "\n\t"] + ["\u007f", "\u200b"]
    stored = arena.store.get_round(rnd.round_id)
    for text in (rnd.reply_a, rnd.reply_b, stored.reply_a, stored.reply_b):
        assert text.endswith("ok") and not any(c in text for c in control), repr(text)
    assert typed in rnd.prompt and typed in stored.prompt  # the prompt is not "cleaned"
    arena.store.add_vote(rnd.round_id, "A", voter_id="s")
    exported = export_pairs(arena.store, "hh")
    assert len(exported) == 1
    assert not any(c in exported[0]["chosen"].split("Assistant:")[-1] for c in control)
    assert typed in exported[0]["chosen"]


# -- best-of-N as a contestant ----------------------------------------------------------------------------------

class LongestWins:
    """A reward model that likes long replies; records what it scored."""

    def __init__(self):
        self.calls = []

    def score(self, prompts, replies):
        self.calls.append(list(replies))
        return torch.tensor([float(len(r)) for r in replies])


def test_best_of_n_contestant_keeps_the_reply_the_reward_model_likes_best(model, tokenizer):
    from rlhf_demo.arena.contestants import best_of_contestant

    gen = PolicyGenerator(model, tokenizer, max_new_tokens=12)
    bon = best_of_contestant(4)
    assert bon.name == "base + best-of-4" and bon.best_of == 4
    with pytest.raises(ArenaError, match="needs an active reward model"):
        gen.generate([PROMPT, PROMPT], [DEFAULT_CONTESTANTS[0], bon], seed=1)
    rm = LongestWins()
    gen.best_of_scorer = lambda: ("rm-long", rm)
    plain, best = gen.generate([PROMPT, PROMPT], [DEFAULT_CONTESTANTS[0], bon], seed=1)
    assert len(rm.calls) == 1 and len(rm.calls[0]) == 4  # the 4 samples of the best-of-4 row only
    assert best == max(rm.calls[0], key=len)  # the longest of its 4 samples
    with pytest.raises(ArenaError, match="best_of"):
        Contestant("x", 0.7, best_of=0)


def test_best_of_n_plays_only_while_a_reward_model_is_active_and_its_id_names_that_model(tmp_path, model, tokenizer):
    from dataclasses import replace

    from rlhf_demo.arena.contestants import best_of_contestant

    registry = ContestantRegistry()
    bon = registry.add(replace(best_of_contestant(2), uid="base-t0.7-bo2"))
    gen = PolicyGenerator(model, tokenizer, max_new_tokens=8)
    store = VoteStore(tmp_path / "votes.sqlite")
    arena = Arena(store, registry, gen, prompt_picker([PROMPT]))
    names = {n for s in range(12) for n in _pair(arena, store, s)}
    assert bon.name not in names  # no reward model: never drawn
    gen.best_of_scorer = lambda: ("rm-1", LongestWins())
    seen = [(r.model_a, r.model_a_id, r.settings) for s in range(12) for r in [_round(arena, store, s)]]
    ids = {mid for name, mid, _ in seen if name == bon.name}
    assert ids == {"base-t0.7-bo2|rm=rm-1"}, seen  # another reward model would be another contestant
    assert all(st["best_of_reward_model"] == "rm-1" for name, _, st in seen if name == bon.name)


def _round(arena, store, seed):
    r = arena.new_round(None, "voter", seed=seed)
    return store.get_round(r.round_id)


def _pair(arena, store, seed):
    rec = _round(arena, store, seed)
    return rec.model_a, rec.model_b


# -- a reply cut by the reply limit ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_policy():
    """The bundled tiny policy (assets/tiny-policy): it writes short hh-style replies that end by themselves."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlhf_demo.paths import TINY_POLICY_DIR

    return AutoModelForCausalLM.from_pretrained(TINY_POLICY_DIR).eval(), AutoTokenizer.from_pretrained(TINY_POLICY_DIR)


def test_a_reply_cut_by_the_limit_ends_with_an_ellipsis_on_the_page_but_not_in_the_vote_file(tiny_policy, tmp_path):
    """Issue 23: a reply that stops mid-sentence because of max_new_tokens says so ("…" and the limit named), while
    the stored reply (what the export and the reward model read) stays the model's own text."""
    import sqlite3

    from rlhf_demo.ui.common import esc
    from rlhf_demo.ui.vote import round_outputs
    from rlhf_demo.ui.vote_view import cut_at, reply_html

    model, tok = tiny_policy
    with VoteStore(tmp_path / "votes.db") as store:
        arena = Arena(store, ContestantRegistry(), PolicyGenerator(model, tok, max_new_tokens=3), prompt_picker([PROMPT]))
        rnd = arena.new_round(None, voter_id="s", seed=0)
        assert (rnd.cut_a, rnd.cut_b, rnd.max_new_tokens) == (True, True, 3)  # 3 tokens end no reply of this model
        shown = round_outputs(rnd)[2:4]  # what the voter reads before the vote: reply A and B
        for html, text in zip(shown, (rnd.reply_a, rnd.reply_b)):
            assert "…" not in text and f"{esc(text)}…<" in html and "(cut at 3 tokens, the reply limit)" in html
        arena.vote(rnd.round_id, "A", voter_id="s")
        vote = store.votes()[-1]
        assert (vote.reply_a, vote.reply_b) == (rnd.reply_a, rnd.reply_b)
        assert vote.settings["cut_a"] is True and vote.settings["cut_b"] is True
        after = reply_html("Model A", vote.reply_a, vote.model_a, cut_at(vote.settings, "a"))  # after the vote
        assert f"{esc(vote.reply_a)}…<" in after and vote.model_a in after
    with sqlite3.connect(tmp_path / "votes.db") as db:  # the file itself: no "…" anywhere in a stored reply
        assert db.execute("SELECT count(*) FROM rounds WHERE reply_a LIKE '%…%' OR reply_b LIKE '%…%'").fetchone() == (0,)


def test_a_reply_that_ends_by_itself_is_not_marked_cut(tiny_policy, tmp_path):
    from rlhf_demo.ui.vote import round_outputs

    model, tok = tiny_policy
    gen = PolicyGenerator(model, tok, max_new_tokens=200)
    with VoteStore(tmp_path / "votes.db") as store:
        rnd = Arena(store, ContestantRegistry(), gen, prompt_picker([PROMPT])).new_round(None, voter_id="s", seed=0)
        assert (rnd.cut_a, rnd.cut_b) == (False, False)  # both ended (EOS or the next turn) well before 200 tokens
        assert store.get_round(rnd.round_id).settings["cut_a"] is False
        assert not any("…" in html or "cut at" in html for html in round_outputs(rnd)[2:4])
    # the generator's own verdict, row by row, for a budget that does cut
    gen.max_new_tokens = 2
    assert [r.cut for r in gen.replies([PROMPT], [DEFAULT_CONTESTANTS[0]], seed=1)] == [True]
