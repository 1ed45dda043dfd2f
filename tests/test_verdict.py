"""Did PPO help? The held-out verdict (`ppo/verdict.py`), the before/after panel and the cut-reply mark on the PPO
tab (issue 23, item 1): a class reads one sentence, not five jumpy step scores."""

from __future__ import annotations

import math
from types import SimpleNamespace

from rlhf_demo.ppo.verdict import GAIN, NO_GAIN, WORSE, before_after, heldout_verdict
from rlhf_demo.ui.ppo_view import before_after_html, reply_text, verdict_markdown


def row(step, scores, kl=0.0, replies=None, cut=None, with_lists=True):
    n = len(scores)
    mean = sum(scores) / n
    sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / n)
    r = {"step": step, "n": n, "kl": kl, "proxy_raw": mean, "proxy_raw_std": sd, "gold_raw": None}
    if with_lists:
        r.update(prompts=[f"\n\nHuman: question {i}?\n\nAssistant:" for i in range(n)],
                 replies=replies or [f"reply {i} at {step}" for i in range(n)], proxy_scores=list(scores),
                 cut=cut or [False] * n, kls=[kl] * n)
    return r


BASE = [0.1, -0.4, 0.9, 0.3, -1.2, 0.5, 0.0, -0.2]


def by_hand(first, now):
    """The recipe as a plain loop: moved in σ0, noise = 2 × stdev(paired differences / σ0) / √n."""
    n = len(first)
    mu0 = sum(first) / n
    sd0 = math.sqrt(sum((x - mu0) ** 2 for x in first) / n)
    diffs = [(b - a) / sd0 for a, b in zip(first, now)]
    mean_d = sum(diffs) / n
    s = math.sqrt(sum((d - mean_d) ** 2 for d in diffs) / (n - 1))
    return (sum(now) / n - mu0) / sd0, 2 * s / math.sqrt(n)


def test_the_verdict_matches_an_independent_loop_and_reads_gain_no_gain_or_worse():
    up = [x + 0.6 + 0.05 * (-1) ** i for i, x in enumerate(BASE)]  # every prompt better by about 0.6: a gain
    v = heldout_verdict([row(0, BASE), row(5, up, kl=0.84)])
    moved, noise = by_hand(BASE, up)
    assert math.isclose(v.moved, moved, rel_tol=1e-9) and math.isclose(v.noise, noise, rel_tol=1e-9)
    assert v.verdict == GAIN and v.steps == 5 and v.kl == 0.84
    text = v.sentence()
    assert text.startswith(f"After 5 steps the held-out score moved by {moved:+.2f} σ (noise ±{noise:.2f}); "
                           "the replies moved 0.84 nats from the base.") and "**Gain**" in text
    # the same mean change, scattered over the prompts (some much better, some much worse): within the noise
    mixed = [x + (2.5 if i % 2 else -1.3) for i, x in enumerate(BASE)]
    v = heldout_verdict([row(0, BASE), row(5, mixed)])
    assert v.verdict == NO_GAIN and abs(v.moved) < v.noise and "No clear gain yet" in v.sentence()
    down = [x - 0.6 for x in BASE]
    v = heldout_verdict([row(0, BASE), row(10, down)])
    assert v.verdict == WORSE and v.moved < 0 and "**Worse**" in v.sentence()
    assert heldout_verdict([row(0, BASE)]) is None and heldout_verdict([]) is None


def test_rows_saved_without_per_prompt_scores_use_the_unpaired_noise():
    first, now = row(0, BASE, with_lists=False), row(3, [x + 0.1 for x in BASE], with_lists=False)
    v = heldout_verdict([first, now])
    sd = first["proxy_raw_std"]
    assert math.isclose(v.noise, 2 * math.sqrt(2 * sd ** 2) / math.sqrt(len(BASE)) / sd)
    assert v.verdict == NO_GAIN  # +0.1 raw on these scores is far inside the noise
    later = heldout_verdict([row(5, BASE), row(8, BASE)])
    assert "After 3 steps since step 5" in later.sentence()  # a run evaluated only from step 5 says so


def test_before_after_pairs_the_same_prompts_base_and_now_with_both_scores():
    replies0 = ["Boil the water.", "Same words.", "Short."]
    replies1 = ["Boil fresh water, then steep for three minutes", "Same words.", "Shorter."]
    first = row(0, [0.0, 1.0, 2.0], replies=replies0)
    now = row(5, [1.0, 1.0, 0.5], replies=replies1, cut=[True, False, False])
    pairs = before_after([first, now])
    sd = first["proxy_raw_std"]
    assert [p.before for p in pairs] == replies0 and [p.after for p in pairs] == replies1
    assert [round(p.after_score - p.before_score, 9) for p in pairs] == [round(1 / sd, 9), 0.0, round(-1.5 / sd, 9)]
    assert pairs[0].before_score == (0.0 - 1.0) / sd  # in σ above the base policy's mean on these prompts
    view = SimpleNamespace(evals=[first, now], config={"response_length": 48})
    html = before_after_html(view)
    assert html.count("rl-better") == 1 and html.count("rl-worse") == 1 and html.count("rl-same") == 1
    assert "same text, only its probability moved" in html  # "Same words." did not change
    assert "steep for three minutes… <span" in html and "cut at the 48-token limit" in html
    assert "base (step 0)" in html and "now (step 5)" in html
    assert "appears after the first evaluation" in before_after_html(SimpleNamespace(evals=[first], config={}))


def test_the_verdict_markdown_before_and_after_two_evaluations():
    view = SimpleNamespace(evals=[], config={})
    assert "appears after the first steps" in verdict_markdown(view)
    view.evals = [row(0, BASE)]
    assert "scored" in verdict_markdown(view) and "next evaluation" in verdict_markdown(view)
    view.evals = [row(0, BASE), row(5, [x - 0.6 for x in BASE])]
    assert verdict_markdown(view).startswith("After 5 steps the held-out score moved by")


def test_a_cut_reply_ends_with_an_ellipsis_and_names_the_limit_an_ended_one_does_not():
    assert reply_text("and take", True, 48) == 'and take… <span class="rl-meta">(cut at the 48-token limit)</span>'
    assert reply_text("Done.", False, 48) == "Done."
    assert reply_text("", True, 48) == "<i>(empty)</i>"
    assert "&lt;b&gt;" in reply_text("<b>", True, None)  # escaped, cut or not
