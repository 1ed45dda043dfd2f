"""The shipped offline policy (assets/tiny-policy) and the script that builds it (assets/tiny-policy/make_tiny_policy.py)."""

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

REPO = Path(__file__).resolve().parents[1]


def _load_builder():
    """The build script is not part of the package: load it from its file, beside the asset it builds."""
    spec = importlib.util.spec_from_file_location("make_tiny_policy", REPO / "assets" / "tiny-policy" / "make_tiny_policy.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


_builder = _load_builder()
EOS_TOKEN, TinyPolicyConfig, build_tiny_policy = _builder.EOS_TOKEN, _builder.TinyPolicyConfig, _builder.build_tiny_policy
load_chosen_transcripts, main, make_examples = _builder.load_chosen_transcripts, _builder.main, _builder.make_examples
train_tokenizer = _builder.train_tokenizer
SHIPPED = REPO / "assets" / "tiny-policy"
BUNDLED = REPO / "assets" / "bundled"
WORD = re.compile(r"[A-Za-z]+")

# prompts the arena could send; none of them is asked in the bundled training set
PROMPTS = [
    "How can I be a better friend?",
    "What is a good way to relax after work?",
    "Can you explain how rainbows form?",
    "What should I name my new goldfish?",
    "How do I make my bread rise more?",
    "Is it okay to skip breakfast?",
]

# a tiny corpus for build tests (the real one is assets/bundled/train.jsonl)
SMALL_CORPUS = [
    "\n\nHuman: How do I boil an egg?\n\nAssistant: Put it in boiling water for about nine minutes.",
    "\n\nHuman: What is a good breakfast?\n\nAssistant: Oatmeal with fruit, or eggs with toast.",
    "\n\nHuman: Can you tell me a joke?\n\nAssistant: Why did the scarecrow win an award? He was outstanding in his field.",
    "\n\nHuman: I want to bake bread.\n\nAssistant: Do you want a simple recipe?"
    "\n\nHuman: Yes please.\n\nAssistant: Mix flour, water, salt and yeast, let it rise, then bake it.",
    "\n\nHuman: Why is the sky blue?\n\nAssistant: Air scatters blue sunlight more than red sunlight.",
    "\n\nHuman: How do I water a cactus?\n\nAssistant: Rarely. Let the soil dry out completely first.",
]
TINY = TinyPolicyConfig(
    vocab_size=512, hidden_size=32, intermediate_size=64, num_layers=2, num_heads=2,
    block_size=64, steps=3, batch_size=4, warmup_steps=1, log_every=0,
)


@pytest.fixture(scope="module")
def shipped():
    if not (SHIPPED / "model.safetensors").exists():
        pytest.fail(f"{SHIPPED} is missing: python assets/tiny-policy/make_tiny_policy.py --data assets/bundled --out {SHIPPED}")
    tokenizer = AutoTokenizer.from_pretrained(SHIPPED)
    model = AutoModelForCausalLM.from_pretrained(SHIPPED).eval()
    return model, tokenizer


@pytest.fixture(scope="module")
def training_text():
    """(words, word bigrams) of the chosen transcripts the shipped model was trained on, lower-cased."""
    words, bigrams = set(), set()
    for text in load_chosen_transcripts(BUNDLED):
        ws = [w.lower() for w in WORD.findall(text)]
        words.update(ws)
        bigrams.update(zip(ws, ws[1:]))
    return words, bigrams


def sample_replies(model, tokenizer, prompts, seed=0, max_new_tokens=96):
    """[(reply cut at eos / a new Human turn, stopped?)], sampled in one left-padded batch like the arena does."""
    tokenizer.padding_side = "left"
    enc = tokenizer([f"\n\nHuman: {q}\n\nAssistant:" for q in prompts], return_tensors="pt", padding=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 1M-parameter model gains nothing from more threads, and a busy CPU hurts them
    try:
        torch.manual_seed(seed)
        with torch.no_grad():
            out = model.generate(**enc, do_sample=True, temperature=0.7, top_k=0, max_new_tokens=max_new_tokens)
    finally:
        torch.set_num_threads(threads)
    results = []
    for row in out[:, enc["input_ids"].shape[1]:].tolist():  # (B, new_tokens)
        stopped = tokenizer.eos_token_id in row
        if stopped:
            row = row[: row.index(tokenizer.eos_token_id)]
        text = tokenizer.decode(row)
        stopped = stopped or "\n\nHuman:" in text
        results.append((text.split("\n\nHuman:")[0], stopped))
    return results


def word_stats(replies, training_text):
    """(fraction of reply words seen in training, fraction of reply word bigrams seen in training, n_words)."""
    words, bigrams = training_text
    per_reply = [[w.lower() for w in WORD.findall(text)] for text, _ in replies]
    found = [w for ws in per_reply for w in ws]
    pairs = [p for ws in per_reply for p in zip(ws, ws[1:])]
    return (
        sum(w in words for w in found) / max(1, len(found)),
        sum(p in bigrams for p in pairs) / max(1, len(pairs)),
        len(found),
    )


def test_shipped_folder_is_a_small_float32_llama_with_model_card(shipped):
    model, _ = shipped
    config = json.loads((SHIPPED / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"] and "auto_map" not in config  # no remote code
    assert model.dtype == torch.float32
    total = sum(f.stat().st_size for f in SHIPPED.iterdir() if f.is_file())
    assert total < 5 * 1024 * 1024, f"{total} bytes"
    card = (SHIPPED / "README.md").read_text()
    assert "python assets/tiny-policy/make_tiny_policy.py --data assets/bundled --out assets/tiny-policy" in card


def test_tokenizer_round_trips_the_dialogue_format_and_has_eos_pad(shipped):
    model, tokenizer = shipped
    text = "\n\nHuman: What’s up?  \n\nAssistant: Not much!\n1. tea\n2. café 🙂"
    ids = tokenizer(text)["input_ids"]
    assert tokenizer.decode(ids) == text  # no bos/eos added, nothing lost
    assert tokenizer.eos_token == tokenizer.pad_token == EOS_TOKEN
    assert tokenizer.eos_token_id == model.config.eos_token_id == model.generation_config.eos_token_id
    assert model.generation_config.pad_token_id == tokenizer.pad_token_id
    # the turn markers are cheap, so the model sees the format rather than byte noise
    assert len(tokenizer("\n\nHuman:")["input_ids"]) <= 4
    assert len(tokenizer("\n\nAssistant:")["input_ids"]) <= 4


def test_shipped_model_answers_in_real_words_and_stops(shipped, training_text):
    model, tokenizer = shipped
    replies = sample_replies(model, tokenizer, PROMPTS)
    word_fraction, bigram_fraction, n_words = word_stats(replies, training_text)
    assert n_words >= 3 * len(PROMPTS), replies  # it says something
    assert word_fraction >= 0.9, replies  # real words, not byte soup
    assert bigram_fraction >= 0.35, replies  # in an order it has read (untrained: ~0, see below)
    # it ends its turn (eos, or a new Human turn that callers cut) before running out of tokens
    assert sum(stopped for _, stopped in replies) >= len(PROMPTS) - 2, replies


def test_untrained_model_fails_the_fluency_check(shipped, training_text):
    """Guards the check above: the same architecture and tokenizer with random weights strings words at random."""
    model, tokenizer = shipped
    torch.manual_seed(0)
    random_model = type(model)(model.config).eval()
    _, bigram_fraction, _ = word_stats(sample_replies(random_model, tokenizer, PROMPTS, max_new_tokens=32),
                                       training_text)
    assert bigram_fraction < 0.15


def test_lora_wraps_q_and_v_projections(shipped):
    from peft import LoraConfig, get_peft_model

    _, tokenizer = shipped
    model = AutoModelForCausalLM.from_pretrained(SHIPPED)  # fresh copy: peft edits the model in place
    base_logits = model(**tokenizer("\n\nHuman: hi\n\nAssistant:", return_tensors="pt")).logits
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                                  task_type="CAUSAL_LM"))
    lora_names = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert lora_names and all("lora_" in n for n in lora_names)
    assert sum("q_proj" in n for n in lora_names) == sum("v_proj" in n for n in lora_names) == 2 * model.config.num_hidden_layers
    logits = peft_model(**tokenizer("\n\nHuman: hi\n\nAssistant:", return_tensors="pt")).logits
    torch.testing.assert_close(logits, base_logits)  # LoRA starts as the identity (B = 0)


def test_tokenizer_keeps_corpus_words_whole_and_spells_new_ones_in_bytes():
    tokenizer = train_tokenizer(SMALL_CORPUS, TINY)
    for word in [" scarecrow", " outstanding", "Human", "Assistant", " sunlight", "."]:
        assert len(tokenizer.tokenize(word)) == 1, word  # so the model can only emit words it has read
    unseen = " zygomorphic ☕"
    assert len(tokenizer.tokenize(unseen)) == len(unseen.encode("utf-8"))  # byte fallback, no <unk>
    assert tokenizer.decode(tokenizer(unseen)["input_ids"]) == unseen


def test_examples_end_with_eos_and_keep_the_last_turns():
    tokenizer = train_tokenizer(SMALL_CORPUS, TINY)
    long = "".join(f"\n\nHuman: question number {i}?\n\nAssistant: answer number {i}." for i in range(30))
    examples = make_examples(SMALL_CORPUS + [long], tokenizer, TINY)
    assert all(len(e) <= TINY.block_size and e[-1] == tokenizer.eos_token_id for e in examples)
    assert all(tokenizer.decode(e).startswith("\n\nHuman:") for e in examples)
    cut = tokenizer.decode(examples[-2])  # the long transcript (its first turn follows as the last example)
    assert cut.endswith("answer number 29." + EOS_TOKEN) and "number 0?" not in cut
    assert tokenizer.decode(examples[-1]) == "\n\nHuman: question number 0?\n\nAssistant: answer number 0." + EOS_TOKEN


def test_build_is_deterministic_and_loads_with_auto_classes(tmp_path):
    a = build_tiny_policy(SMALL_CORPUS, tmp_path / "a", seed=0, config=TINY)
    b = build_tiny_policy(SMALL_CORPUS, tmp_path / "b", seed=0, config=TINY)
    c = build_tiny_policy(SMALL_CORPUS, tmp_path / "c", seed=1, config=TINY)
    wa, wb, wc = (AutoModelForCausalLM.from_pretrained(p).state_dict() for p in (a, b, c))
    assert wa.keys() == wb.keys()
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name
    assert any(not torch.equal(wa[n], wc[n]) for n in wa)  # the seed matters, so equality above means something
    assert (a / "tokenizer.json").read_bytes() == (b / "tokenizer.json").read_bytes()
    tokenizer = AutoTokenizer.from_pretrained(a)
    assert tokenizer.eos_token == EOS_TOKEN


def test_cli_trains_on_chosen_side_of_train_jsonl_only(tmp_path):
    data = tmp_path / "bundled"
    data.mkdir()
    with (data / "train.jsonl").open("w") as f:
        for t in SMALL_CORPUS:
            f.write(json.dumps({"chosen": t, "rejected": t.rsplit("Assistant:", 1)[0] + "Assistant: No.\n"}) + "\n")
    (data / "test.jsonl").write_text(json.dumps({"chosen": "held out", "rejected": "held out"}) + "\n")
    assert load_chosen_transcripts(data) == SMALL_CORPUS
    main(["--data", str(data), "--out", str(tmp_path / "out"), "--steps", "1"])
    assert (tmp_path / "out" / "model.safetensors").exists()
    assert f"{len(SMALL_CORPUS)} transcripts" in (tmp_path / "out" / "README.md").read_text()
