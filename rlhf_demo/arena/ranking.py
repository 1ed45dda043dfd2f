"""Ranking contestants from pairwise votes: Elo, Bradley-Terry, bootstrap intervals, win rates, agreement.

Input everywhere is a list of battle records, each with at least ``model_a``, ``model_b`` and ``outcome``
("A", "B", "tie" or "both_bad"): tuples ``(model_a, model_b, outcome)``, dicts, objects with those attributes
(`votes.VoteRecord`), or a pandas DataFrame with those columns. `agreement` also reads ``prompt``,
``reply_a``, ``reply_b`` and ``voter_id``. All functions are pure: same input, same output.

Two ways to turn "A beat B" into a number, both on the familiar chess scale (+400 points = 10:1 odds):

* online Elo (as in FastChat / Chatbot Arena's first leaderboard): replay the votes in order; after each
  battle move both ratings by K * (actual score - expected score). Cheap and intuitive, but the result depends
  on the ORDER of the votes, and recent votes weigh more.
* Bradley-Terry (FastChat's ``compute_mle_elo``): find the ratings r that maximise the likelihood of all votes
  at once under P(i beats j) = 1 / (1 + 10 ** ((r_j - r_i) / 400)). Order-independent, the statistically
  sound choice; we solve the logistic regression with Newton's method in numpy.

With few votes every rating is noisy, so `bootstrap` resamples the votes with replacement and reports where
the middle 95 % of the re-fitted ratings fall.
"""

from __future__ import annotations

import math
from collections import defaultdict
from statistics import NormalDist
from typing import Any, Iterable, NamedTuple

import numpy as np
import pandas as pd

from rlhf_demo.arena.agreement import Agreement, percent_agreement

OUTCOMES = ("A", "B", "tie", "both_bad")
COLUMNS = ("model_a", "model_b", "outcome", "prompt", "reply_a", "reply_b", "voter_id")
LEADERBOARD_COLUMNS = ["rank", "contestant", "elo", "bt", "ci_low", "ci_high", "votes", "win_rate"]

# Elo's step size. FastChat uses 4 for ~10^5 votes; a class casts tens, and after 3 wins out of 3 a checkpoint at
# k = 4 stood at 1006 while Bradley-Terry said 1638: a leaderboard that does not move. 32 is chess's K for new players
# (few games, ratings still unknown): one vote moves a rating by at most k = 32 points (by k/2 between equals).
ELO_K = 32.0

# Score of model_a in one battle. "both_bad" says nothing about which is better: counted as a tie (like FastChat's
# "tie (bothbad)").
SCORE_A = {"A": 1.0, "B": 0.0, "tie": 0.5, "both_bad": 0.5}


# ----------------------------------------------------------------------------------------------------------
# input normalisation


def to_frame(records: Iterable[Any] | pd.DataFrame) -> pd.DataFrame:
    """Battle records (tuples / dicts / objects / DataFrame) -> DataFrame with the `COLUMNS` that are present."""
    if isinstance(records, pd.DataFrame):
        df = records.copy()
    else:
        rows = []
        for r in records:
            if isinstance(r, dict):
                rows.append({c: r[c] for c in COLUMNS if c in r})
            elif isinstance(r, tuple) and not hasattr(r, "model_a"):  # plain tuple: positional
                rows.append(dict(zip(COLUMNS, r)))
            else:  # dataclass / namedtuple / any object with attributes
                rows.append({c: getattr(r, c) for c in COLUMNS if hasattr(r, c)})
        present = [c for c in COLUMNS if any(c in row for row in rows)] if rows else list(COLUMNS)
        df = pd.DataFrame(rows, columns=present)
    missing = {"model_a", "model_b", "outcome"} - set(df.columns)
    if missing:
        raise ValueError(f"battle records need the fields model_a, model_b, outcome; missing {sorted(missing)}")
    bad = set(df["outcome"]) - set(OUTCOMES)
    if bad:
        raise ValueError(f"unknown outcome(s) {sorted(map(str, bad))}; expected one of {OUTCOMES}")
    if (df["model_a"] == df["model_b"]).any():
        raise ValueError("a battle needs two different contestants (model_a == model_b found)")
    return df.reset_index(drop=True)


def _encode(df: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(names sorted, index of A per battle, index of B per battle, score of A per battle) as numpy arrays."""
    names = sorted(set(df["model_a"]) | set(df["model_b"]))
    index = {n: i for i, n in enumerate(names)}
    ia = df["model_a"].map(index).to_numpy(dtype=np.int64)  # (n_battles,)
    ib = df["model_b"].map(index).to_numpy(dtype=np.int64)
    sa = df["outcome"].map(SCORE_A).to_numpy(dtype=np.float64)
    return names, ia, ib, sa


# ----------------------------------------------------------------------------------------------------------
# online Elo


def compute_elo(records, k: float = ELO_K, scale: float = 400.0, base: float = 10.0,
                init_rating: float = 1000.0) -> dict[str, float]:
    """Online Elo, replaying the battles in the given order (FastChat's ``compute_online_elo``).

    k:           step size: one battle moves a rating by at most k points (`ELO_K`, sized for a class's tens of
                 votes; FastChat's 4 suits 10^5 votes, where a long history should outweigh the last few).
    scale, base: a rating gap of `scale` points means `base`:1 odds (chess: 400 points = 10:1).
    init_rating: everyone starts here.
    """
    df = to_frame(records)
    rating: dict[str, float] = defaultdict(lambda: init_rating)
    for a, b, outcome in zip(df["model_a"], df["model_b"], df["outcome"]):
        ra, rb = rating[a], rating[b]
        expected_a = 1.0 / (1.0 + base ** ((rb - ra) / scale))
        score_a = SCORE_A[outcome]
        rating[a] = ra + k * (score_a - expected_a)
        rating[b] = rb + k * ((1.0 - score_a) - (1.0 - expected_a))
    return dict(sorted(rating.items()))


# ----------------------------------------------------------------------------------------------------------
# Bradley-Terry maximum likelihood


def _bt_fit(n_players: int, ia: np.ndarray, ib: np.ndarray, sa: np.ndarray, l2: float,
            max_iter: int = 100, tol: float = 1e-10) -> np.ndarray:
    """Bradley-Terry strengths theta (natural-log odds units, mean 0) by damped Newton's method.

    Like FastChat, each battle is two weighted logistic-regression rows on the design x = e_a - e_b:
    "a wins" with weight 2*score_a and "b wins" with weight 2*(1 - score_a), so a tie is half a win for each.
    We aggregate per ordered pair: W[i, j] = total weight of "i beat j".
    Loss(theta) = -sum_ij W[i,j] * log sigmoid(theta_i - theta_j) + l2/2 * |theta|^2.
    """
    W = np.zeros((n_players, n_players))  # (p, p)
    np.add.at(W, (ia, ib), 2.0 * sa)
    np.add.at(W, (ib, ia), 2.0 * (1.0 - sa))
    N = W + W.T  # (p, p) total weight between i and j

    def loss(theta):
        d = theta[:, None] - theta[None, :]  # (p, p) d[i, j] = theta_i - theta_j
        return float(np.sum(W * np.logaddexp(0.0, -d))) + 0.5 * l2 * float(theta @ theta)

    theta = np.zeros(n_players)
    f = loss(theta)
    for _ in range(max_iter):
        d = theta[:, None] - theta[None, :]
        p = 1.0 / (1.0 + np.exp(-d))  # (p, p) P(i beats j)
        grad = -(W * (1.0 - p)).sum(1) + (W.T * p).sum(1) + l2 * theta  # (p,)
        c = N * p * (1.0 - p)  # (p, p) curvature of each pair (symmetric)
        hess = np.diag(c.sum(1)) - c + l2 * np.eye(n_players)  # graph Laplacian (+ ridge)
        # lstsq: with l2 = 0 the Hessian is singular along "shift everyone"; the min-norm step ignores it.
        step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        t = 1.0
        while t > 1e-8:  # backtracking: Newton overshoots when a player (nearly) always wins
            new = theta - t * step
            f_new = loss(new)
            if f_new <= f:
                break
            t *= 0.5
        if t <= 1e-8:
            break
        theta, f = new, f_new
        if np.abs(t * step).max() < tol:
            break
    return theta - theta.mean()


def compute_bt(records, scale: float = 400.0, base: float = 10.0, init_rating: float = 1000.0,
               anchor: str | None = None, l2: float = 1e-2) -> dict[str, float]:
    """Bradley-Terry ratings on the Elo scale (FastChat's ``compute_mle_elo``, solved with numpy).

    scale, base: rating = scale / ln(base) * theta + offset, so `scale` points = `base`:1 odds, as in Elo.
                 For two players with w wins and l losses the gap is scale * log_base(w / l).
    init_rating: the mean rating (or the anchor's rating, see below).
    anchor:      name of a contestant pinned at `init_rating` (e.g. the base model), instead of pinning the mean.
    l2:          a weak ridge penalty on theta (a Gaussian prior with std 10 in log-odds units, i.e. ~1700
                 points). It changes well-determined ratings by far less than a point, but keeps the rating of a
                 contestant that won (or lost) every battle finite, which the plain MLE cannot. 0 = plain MLE.
    """
    df = to_frame(records)
    if df.empty:
        return {}
    names, ia, ib, sa = _encode(df)
    theta = _bt_fit(len(names), ia, ib, sa, l2)
    ratings = scale / math.log(base) * theta + init_rating
    if anchor is not None:
        if anchor not in names:
            raise ValueError(f"anchor {anchor!r} has no votes; contestants with votes: {names}")
        ratings += init_rating - ratings[names.index(anchor)]
    return dict(zip(names, ratings.tolist()))


# ----------------------------------------------------------------------------------------------------------
# bootstrap


def bootstrap(records, n_resamples: int = 200, seed: int = 0, confidence: float = 0.95, scale: float = 400.0,
              base: float = 10.0, init_rating: float = 1000.0, anchor: str | None = None,
              l2: float = 1e-2) -> pd.DataFrame:
    """Percentile-bootstrap intervals of the Bradley-Terry ratings (same rating arguments as `compute_bt`).

    Draw `n_resamples` data sets of the same size from the votes WITH replacement, refit BT on each, and report
    the central `confidence` range of each contestant's ratings. Returns a DataFrame indexed by contestant with
    columns ci_low, median, ci_high. A contestant missing from a resample is skipped in that resample.
    """
    df = to_frame(records)
    if df.empty:
        return pd.DataFrame(columns=["ci_low", "median", "ci_high"], dtype=float)
    names, ia, ib, sa = _encode(df)
    if anchor is not None and anchor not in names:
        raise ValueError(f"anchor {anchor!r} has no votes; contestants with votes: {names}")
    rng = np.random.default_rng(seed)
    samples = np.full((n_resamples, len(names)), np.nan)  # (n_resamples, p)
    for s in range(n_resamples):
        pick = rng.integers(0, len(df), size=len(df))  # (n_battles,) battle indices drawn with replacement
        present = np.unique(np.concatenate([ia[pick], ib[pick]]))  # contestants in this resample
        remap = np.full(len(names), -1)
        remap[present] = np.arange(len(present))
        theta = _bt_fit(len(present), remap[ia[pick]], remap[ib[pick]], sa[pick], l2)
        ratings = scale / math.log(base) * theta + init_rating  # (len(present),)
        if anchor is not None:
            a = names.index(anchor)
            if remap[a] < 0:
                continue  # the anchor sat this resample out: its ratings have no reference point
            ratings += init_rating - ratings[remap[a]]
        samples[s, present] = ratings
    tail = (1.0 - confidence) / 2.0 * 100.0
    lo, med, hi = np.nanpercentile(samples, [tail, 50.0, 100.0 - tail], axis=0)
    return pd.DataFrame({"ci_low": lo, "median": med, "ci_high": hi}, index=pd.Index(names, name="contestant"))


# ----------------------------------------------------------------------------------------------------------
# counts and win rates


def votes_per_contestant(records) -> pd.Series:
    """Number of battles each contestant took part in (ties and both-bad included), most first."""
    df = to_frame(records)
    counts = pd.concat([df["model_a"], df["model_b"]]).value_counts()
    counts.index.name = "contestant"
    return counts.rename("votes").sort_index().sort_values(ascending=False, kind="stable")


class WinMatrix(NamedTuple):
    """Head-to-head results among DECISIVE battles (ties and both-bad excluded), in either seat."""

    win_rate: pd.DataFrame  # win_rate.loc[row, col] = fraction of row-vs-col battles that row won (NaN: none)
    wins: pd.DataFrame  # wins.loc[row, col] = number of battles row won against col
    games: pd.DataFrame  # games.loc[row, col] = number of decisive battles between row and col (symmetric)


def win_matrix(records) -> WinMatrix:
    df = to_frame(records)
    names = sorted(set(df["model_a"]) | set(df["model_b"]))
    wins = pd.DataFrame(0, index=pd.Index(names, name="contestant"), columns=pd.Index(names, name="opponent"))
    for a, b, outcome in zip(df["model_a"], df["model_b"], df["outcome"]):
        if outcome == "A":
            wins.loc[a, b] += 1
        elif outcome == "B":
            wins.loc[b, a] += 1
    games = wins + wins.T
    win_rate = (wins / games.where(games > 0)).astype(float)
    return WinMatrix(win_rate, wins, games)


class HeadToHead(NamedTuple):
    """Every battle between two contestants, from b's side: does b beat a?"""

    a: str
    b: str
    wins_a: int
    wins_b: int
    ties: int  # "tie" and "both_bad" (half a win each, as everywhere in this module)
    n: int  # battles between a and b, ties included
    rate_b: float  # (wins_b + ties / 2) / n; NaN when n == 0
    low: float  # Wilson score interval of rate_b; NaN when n == 0
    high: float
    confidence: float


def wilson_interval(successes: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (successes may be fractional: a tie is half a win).

    Unlike p +- z * sqrt(p(1-p)/n) it stays inside [0, 1] and is not zero-wide at 3 wins out of 3, which is
    where a class's before/after contest starts. (NaN, NaN) when n == 0.
    """
    if n <= 0:
        return math.nan, math.nan
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p, z2 = successes / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def head_to_head(records, a: str, b: str, confidence: float = 0.95) -> HeadToHead:
    """How often `b` beat `a` in their battles (either seat), ties half, with a Wilson interval.

    One number for "did the votes change the model?": a = the base, b = a checkpoint. Battles against anyone
    else do not enter, so unlike a rating it cannot move because of a third contestant.
    """
    df = to_frame(records)
    pair = df[((df["model_a"] == a) & (df["model_b"] == b)) | ((df["model_a"] == b) & (df["model_b"] == a))]
    score_b = [1.0 - SCORE_A[o] if ma == a else SCORE_A[o] for ma, o in zip(pair["model_a"], pair["outcome"])]
    wins_b, wins_a = sum(s == 1.0 for s in score_b), sum(s == 0.0 for s in score_b)
    n = len(score_b)
    rate = sum(score_b) / n if n else math.nan
    low, high = wilson_interval(sum(score_b), n, confidence)
    return HeadToHead(a, b, wins_a, wins_b, n - wins_a - wins_b, n, rate, low, high, confidence)


# ----------------------------------------------------------------------------------------------------------
# do voters agree?


_FLIP = {"A": "B", "B": "A", "tie": "tie", "both_bad": "both_bad"}


def agreement(records) -> Agreement:
    """How often two voters who judged the same prompt + reply pair gave the same verdict.

    The same two replies may have been shown in either order, so items are keyed by (prompt, {reply_a, reply_b})
    and outcomes are flipped A<->B to a common orientation. Each voter counts once per item (their latest
    verdict). Verdicts must match exactly ("tie" and "both_bad" are different verdicts). The arena re-samples
    replies every round, so this rarely finds an item two voters shared: `calibration.py` shows everyone the same
    items. Both use `agreement.percent_agreement`.
    """
    df = to_frame(records)
    missing = {"prompt", "reply_a", "reply_b", "voter_id"} - set(df.columns)
    if missing:
        raise ValueError(f"agreement needs the fields prompt, reply_a, reply_b, voter_id; missing {sorted(missing)}")
    verdicts: dict[tuple, dict[str, str]] = defaultdict(dict)  # item -> voter -> outcome (canonical orientation)
    for prompt, ra, rb, voter, outcome in zip(df["prompt"], df["reply_a"], df["reply_b"], df["voter_id"], df["outcome"]):
        if ra <= rb:
            verdicts[(prompt, ra, rb)][voter] = outcome
        else:
            verdicts[(prompt, rb, ra)][voter] = _FLIP[outcome]
    return percent_agreement(verdicts)


# ----------------------------------------------------------------------------------------------------------
# the leaderboard


def leaderboard(records, n_bootstrap: int = 200, seed: int = 0, confidence: float = 0.95, **bt_kwargs) -> pd.DataFrame:
    """One row per contestant with votes, best Bradley-Terry rating first.

    Columns: rank, contestant, elo (online), bt (Bradley-Terry), ci_low / ci_high (bootstrap interval of bt),
    votes (battles fought), win_rate (wins / decisive battles; NaN if none).
    rank is Chatbot Arena's: 1 + the number of contestants whose ci_low is above this one's ci_high, i.e. the
    contestants that are better beyond reasonable doubt. Equal ranks mean "we cannot tell them apart yet".
    """
    df = to_frame(records)
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype=object if c == "contestant" else float) for c in LEADERBOARD_COLUMNS})
    elo = compute_elo(df)
    bt = compute_bt(df, **bt_kwargs)
    ci = bootstrap(df, n_resamples=n_bootstrap, seed=seed, confidence=confidence, **bt_kwargs)
    votes = votes_per_contestant(df)
    wm = win_matrix(df)
    decisive = wm.games.sum(1)
    board = pd.DataFrame({
        "contestant": list(bt),
        "elo": [elo[n] for n in bt],
        "bt": list(bt.values()),
        "ci_low": [ci.loc[n, "ci_low"] for n in bt],
        "ci_high": [ci.loc[n, "ci_high"] for n in bt],
        "votes": [int(votes[n]) for n in bt],
        "win_rate": [wm.wins.loc[n].sum() / decisive[n] if decisive[n] else float("nan") for n in bt],
    })
    board["rank"] = [1 + int((board["ci_low"] > hi).sum()) for hi in board["ci_high"]]
    board = board.sort_values(["bt", "contestant"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return board[LEADERBOARD_COLUMNS]
