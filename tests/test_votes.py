"""The vote store keeps every round and vote (across threads and restarts) and exports a preference data set."""

import json
import os
import sqlite3
import threading

import pytest

from rlhf_demo.arena.export import ExportStats, export_pairs, vote_pairs, write_export
from rlhf_demo.arena.votes import OUTCOMES, SCHEMA_VERSION, VoteError, VoteStore
from rlhf_demo.data.hh import load_jsonl, parse_transcript, prompt_messages

PROMPT = "\n\nHuman: What is the capital of France?\n\nAssistant:"
MULTI_TURN = "\n\nHuman: Hi!\n\nAssistant: Hello, how can I help?\n\nHuman: Tell me a joke.\n\nAssistant:"


@pytest.fixture
def store(tmp_path):
    with VoteStore(tmp_path / "votes.db") as s:
        yield s


def new_round(store, prompt=PROMPT, a="m1", b="m2", voter="v0"):
    return store.add_round(prompt, a, b, f"reply of {a}", f"reply of {b}", voter, {"seed": 1})


# ------------------------------------------------------------------------------------------ storing


def test_round_and_vote_are_stored_and_joined(store):
    r = new_round(store, a="alpha", b="beta", voter="session-1")
    assert len(r.round_id) == 32 and int(r.round_id, 16) >= 0  # uuid4 hex
    assert store.get_round(r.round_id).settings == {"seed": 1}
    v = store.add_vote(r.round_id, "B", voter_id="session-2", voter_name="  Ada ")
    assert (v.model_a, v.model_b, v.outcome, v.winner) == ("alpha", "beta", "B", "beta")
    assert (v.voter_id, v.voter_name) == ("session-2", "Ada")
    assert store.votes() == [v]
    assert store.count() == 1


def test_many_threads_voting_at_once_lose_nothing(store):
    n_threads, per_thread = 16, 25
    barrier = threading.Barrier(n_threads)
    errors = []

    def worker(t):
        try:
            barrier.wait()  # all threads hit the database at the same moment
            for i in range(per_thread):
                r = new_round(store, a=f"m{t}", b="other", voter=f"v{t}")
                store.add_vote(r.round_id, OUTCOMES[(t + i) % 4], voter_id=f"v{t}")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert store.count() == n_threads * per_thread
    votes = store.votes()
    assert len({v.round_id for v in votes}) == n_threads * per_thread
    for t in range(n_threads):  # each thread's votes landed with the right outcomes
        mine = [v.outcome for v in votes if v.voter_id == f"v{t}"]
        assert sorted(mine) == sorted(OUTCOMES[(t + i) % 4] for i in range(per_thread))


def test_votes_survive_a_restart(tmp_path):
    path = tmp_path / "sub" / "votes.db"
    with VoteStore(path) as s:
        r = new_round(s)
        before = s.add_vote(r.round_id, "A", voter_id="v1", voter_name="Bo")
        unvoted = new_round(s)
    with VoteStore(path) as s:
        assert s.votes() == [before]
        assert s.stats()["unvoted_rounds"] == 1
        s.add_vote(unvoted.round_id, "tie", voter_id="v2")  # a round created before the restart can be voted on
        assert s.count() == 2


def test_many_openers_of_a_new_file_create_the_schema_once(tmp_path):
    path, errors, stores = tmp_path / "new.db", [], []
    barrier = threading.Barrier(8)

    def opener():
        barrier.wait()
        try:
            stores.append(VoteStore(path))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=opener) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(stores) == 8
    r = new_round(stores[0])
    stores[5].add_vote(r.round_id, "A", voter_id="v")  # they all see the same database
    assert [s.count() for s in stores] == [1] * 8
    for s in stores:
        s.close()


def test_stats_count_outcomes_and_voters(store):
    for outcome, voter in [("A", "x"), ("A", "y"), ("tie", "x"), ("both_bad", "z")]:
        store.add_vote(new_round(store).round_id, outcome, voter_id=voter)
    new_round(store)
    assert store.stats() == {"rounds": 5, "votes": 4, "archived": 0, "unvoted_rounds": 1, "voters": 3,
                             "outcomes": {"A": 2, "B": 0, "tie": 1, "both_bad": 1}}


def test_reset_archives_the_votes_and_loses_nothing(tmp_path):
    """"Reset votes" stamps the votes archived: they leave every count and the export, stay in the file (also after a
    reopen), and their rounds cannot be voted on again."""
    path = tmp_path / "votes.db"
    with VoteStore(path) as store:
        old = [new_round(store) for _ in range(3)]
        for r in old:
            store.add_vote(r.round_id, "A", voter_id="v")
        assert store.archive_votes() == 3
        assert store.archive_votes() == 0  # nothing active left
        fresh = new_round(store)
        store.add_vote(fresh.round_id, "B", voter_id="w")
        with pytest.raises(VoteError, match="already"):
            store.add_vote(old[0].round_id, "B", voter_id="v")
    with VoteStore(path) as store:
        assert [v.round_id for v in store.votes()] == [fresh.round_id]
        assert store.count() == 1 and store.count(include_archived=True) == 4
        everything = store.votes(include_archived=True)
        assert [v.archived_at is not None for v in everything] == [True, True, True, False]
        assert store.stats()["votes"] == 1 and store.stats()["archived"] == 3
        assert vote_pairs(store) == [(PROMPT, "reply of m2", "reply of m1")]


# ------------------------------------------------------------------------------------------ errors


def test_unknown_round_is_refused(store):
    with pytest.raises(VoteError, match="Unknown round"):
        store.add_vote("0" * 32, "A", voter_id="v")
    assert store.count() == 0


def test_second_vote_on_a_round_is_refused_and_first_kept(store):
    r = new_round(store)
    store.add_vote(r.round_id, "A", voter_id="v1")
    with pytest.raises(VoteError, match="already been voted"):
        store.add_vote(r.round_id, "B", voter_id="v2")
    assert [(v.outcome, v.voter_id) for v in store.votes()] == [("A", "v1")]


@pytest.mark.parametrize("outcome", ["a", "C", "", None, "Tie"])
def test_bad_outcome_is_refused(store, outcome):
    r = new_round(store)
    with pytest.raises(VoteError, match="must be one of"):
        store.add_vote(r.round_id, outcome, voter_id="v")
    store.add_vote(r.round_id, "tie", voter_id="v")  # the refused vote did not use up the round


def test_newer_schema_version_is_refused(tmp_path):
    path = tmp_path / "votes.db"
    VoteStore(path).close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(VoteError, match=f"schema version {SCHEMA_VERSION + 1}"):
        VoteStore(path)


def test_other_sqlite_or_non_database_files_are_refused(tmp_path):
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.close()
    with pytest.raises(VoteError, match="not a vote database"):
        VoteStore(other)
    con = sqlite3.connect(other)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # someone else's file left as it was
    con.close()
    text = tmp_path / "notes.txt"
    text.write_text("hello " * 1000)
    with pytest.raises(VoteError, match="Cannot use"):
        VoteStore(text)
    assert text.read_text() == "hello " * 1000  # untouched


def test_unwritable_location_fails_at_open_and_writes_nothing(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")  # a folder cannot be created under a file, even by root
    with pytest.raises(VoteError, match="Cannot create the folder"):
        VoteStore(blocker / "data" / "votes.db")
    assert blocker.read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_read_only_folder_fails_at_open(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(VoteError, match="permission denied"):
            VoteStore(ro / "votes.db")
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


# ------------------------------------------------------------------------------------------ export


def _filled_store(store):
    """3 decisive votes (A, B, A on a multi-turn prompt), one tie, one both-bad."""
    for outcome, prompt in [("A", PROMPT), ("B", PROMPT), ("tie", PROMPT), ("both_bad", PROMPT), ("A", MULTI_TURN)]:
        r = store.add_round(prompt, "m1", "m2", f"first {outcome}", f"second {outcome}", "v", {})
        store.add_vote(r.round_id, outcome, voter_id="v")
    return store


def test_vote_pairs_put_the_winner_first(store):
    _filled_store(store)
    assert vote_pairs(store) == [
        (PROMPT, "first A", "second A"),
        (PROMPT, "second B", "first B"),
        (MULTI_TURN, "first A", "second A"),
    ]


def test_prompt_messages_keep_every_turn():
    assert prompt_messages(MULTI_TURN) == [
        {"role": "user", "content": "Hi!"},
        {"role": "assistant", "content": "Hello, how can I help?"},
        {"role": "user", "content": "Tell me a joke."},
    ]


@pytest.mark.parametrize("file_format", ["jsonl", "parquet"])
def test_hh_export_round_trips_through_datasets(store, tmp_path, file_format):
    from datasets import load_dataset

    _filled_store(store)
    out = tmp_path / f"prefs.{file_format}"
    stats = write_export(store, out, fmt="hh")  # file format from the suffix
    assert stats == ExportStats(n_pairs=3, n_ties=1, n_both_bad=1)
    ds = load_dataset("json" if file_format == "jsonl" else "parquet", data_files=str(out), split="train",
                      cache_dir=str(tmp_path / "cache"))
    assert ds.column_names == ["chosen", "rejected"]
    assert ds.to_list() == export_pairs(store, "hh")
    row = ds[1]  # the "B" vote: reply B is the chosen one
    assert row["chosen"] == PROMPT + " second B" and row["rejected"] == PROMPT + " first B"
    turns = parse_transcript(ds[2]["chosen"])  # a valid hh-rlhf transcript, reply as the last turn
    assert [t.role for t in turns] == ["Human", "Assistant", "Human", "Assistant"]
    assert turns[-1].text == "first A"


@pytest.mark.parametrize("file_format", ["jsonl", "parquet"])
def test_conversational_export_is_trl_implicit_prompt_format(store, tmp_path, file_format):
    from datasets import load_dataset
    from trl.data_utils import extract_prompt, is_conversational

    _filled_store(store)
    out = tmp_path / "prefs.data"
    stats = write_export(store, out, fmt="conversational", file_format=file_format)
    assert stats.n_pairs == 3
    ds = load_dataset("json" if file_format == "jsonl" else "parquet", data_files=str(out), split="train",
                      cache_dir=str(tmp_path / "cache"))
    assert len(ds) == 3 and all(is_conversational(ex) for ex in ds)
    split = extract_prompt(ds[2])  # what TRL does with an implicit prompt
    assert split["prompt"] == prompt_messages(MULTI_TURN)
    assert split["chosen"] == [{"role": "assistant", "content": "first A"}]
    assert split["rejected"] == [{"role": "assistant", "content": "second A"}]


def test_empty_parquet_export_keeps_its_columns(store, tmp_path):
    import pyarrow.parquet as pq

    new_round(store)  # a round without a vote: nothing to export
    stats = write_export(store, tmp_path / "empty.parquet", fmt="conversational")
    assert stats == ExportStats(0, 0, 0)
    table = pq.read_table(tmp_path / "empty.parquet")  # (datasets refuses zero-row parquet files)
    assert table.num_rows == 0 and table.column_names == ["chosen", "rejected"]
    assert str(table.schema.field("chosen").type) == "list<element: struct<role: string, content: string>>"


def test_bad_export_arguments(store, tmp_path):
    with pytest.raises(VoteError, match="export format"):
        export_pairs(store, "csv")
    with pytest.raises(VoteError, match="file format"):
        write_export(store, tmp_path / "x.jsonl", file_format="xlsx")
    assert not (tmp_path / "x.jsonl").exists()


def test_real_hh_prompts_export_to_their_own_format(store, tmp_path, sample_path):
    """Votes on real hh-rlhf prompts export to transcripts that parse exactly like the originals."""
    pairs = [p for p in load_jsonl(sample_path).pairs if p.same_prefix][:40]
    for i, p in enumerate(pairs):
        r = store.add_round(p.prompt, "m1", "m2", p.chosen, p.rejected, "v", {})
        store.add_vote(r.round_id, "A", voter_id=f"v{i}")
    out = tmp_path / "hh.jsonl"
    assert write_export(store, out).n_pairs == len(pairs)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    for p, row in zip(pairs, rows):
        assert parse_transcript(row["chosen"]) == list(p.chosen_turns)
        assert parse_transcript(row["rejected"]) == list(p.rejected_turns)


SCHEMA_V1 = """
CREATE TABLE rounds (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, voter_id TEXT NOT NULL, prompt TEXT NOT NULL,
    model_a TEXT NOT NULL, model_b TEXT NOT NULL, reply_a TEXT NOT NULL, reply_b TEXT NOT NULL, settings TEXT NOT NULL);
CREATE TABLE votes (id INTEGER PRIMARY KEY AUTOINCREMENT, round_id TEXT NOT NULL UNIQUE REFERENCES rounds(id),
    voted_at TEXT NOT NULL, voter_id TEXT NOT NULL, voter_name TEXT,
    outcome TEXT NOT NULL CHECK (outcome IN ('A', 'B', 'tie', 'both_bad')));
CREATE INDEX votes_voted_at ON votes(voted_at);
"""


def test_a_schema_1_file_is_migrated_forward_and_its_votes_kept(tmp_path):
    """The vote file of an older app version (no contestant ids) opens, keeps every vote, and records ids from then on."""
    path = tmp_path / "votes.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_V1)
    conn.execute("INSERT INTO rounds VALUES ('r1', '2026-01-01T00:00:00', 'v1', ?, 'base-t0.7', 'ppo-step10', 'a', 'b', '{}')",
                 (PROMPT,))
    conn.execute("INSERT INTO votes (round_id, voted_at, voter_id, outcome) VALUES ('r1', '2026-01-01T00:01:00', 'v1', 'B')")
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()

    with VoteStore(path) as store:
        (old,) = store.votes()
        assert (old.model_a, old.model_b, old.outcome, old.model_a_id, old.model_b_id) == (
            "base-t0.7", "ppo-step10", "B", None, None)
        rnd = store.add_round(PROMPT, "base-t0.7", "ppo-step10", "x", "y", "v2", model_a_id="p-t0.7", model_b_id="abc123")
        store.add_vote(rnd.round_id, "A", "v2")
        assert [(v.model_a_id, v.model_b_id) for v in store.votes()] == [(None, None), ("p-t0.7", "abc123")]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    with VoteStore(path) as store:  # opening again migrates nothing more
        assert store.count() == 2


SCHEMA_V2_EXTRA = ["ALTER TABLE rounds ADD COLUMN model_a_id TEXT", "ALTER TABLE rounds ADD COLUMN model_b_id TEXT"]


def test_a_schema_2_file_is_migrated_to_3_with_archive_and_calibration_tables(tmp_path):
    """Schema 3 adds votes.archived_at and the calibration tables; a schema-2 file keeps its votes, all active."""
    from rlhf_demo.arena.calibration import CalibrationItem, CalibrationStore

    path = tmp_path / "votes.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_V1)
    for stmt in SCHEMA_V2_EXTRA:
        conn.execute(stmt)
    conn.execute("INSERT INTO rounds VALUES ('r1', '2026-01-01T00:00:00', 'v1', ?, 'a', 'b', 'x', 'y', '{}', 'ia', 'ib')",
                 (PROMPT,))
    conn.execute("INSERT INTO votes (round_id, voted_at, voter_id, outcome) VALUES ('r1', '2026-01-01T00:01:00', 'v1', 'A')")
    conn.execute("PRAGMA user_version=2")
    conn.commit()
    conn.close()
    with VoteStore(path) as store:
        (old,) = store.votes()
        assert (old.round_id, old.outcome, old.archived_at, old.model_a_id) == ("r1", "A", None, "ia")
        cal = CalibrationStore(store)
        s = cal.start([CalibrationItem(0, PROMPT, "x", "y", "A")], seed=0, source="test")
        cal.judge(s.set_id, 0, "v1", "", "B")
        assert store.archive_votes() == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    with VoteStore(path) as store:
        assert store.count() == 0 and store.count(include_archived=True) == 1
        assert [j.outcome for j in CalibrationStore(store).judgements(s.set_id)] == ["B"]


def test_one_name_over_two_models_is_two_rows_on_the_leaderboard(store):
    """A checkpoint name that once pointed at other weights (an overwrite by an older version) must not pool the
    votes of two different models: each id gets its own row. Rounds without ids keep the bare name."""
    from rlhf_demo.arena.ranking import leaderboard
    from rlhf_demo.arena.votes import distinct_models

    for uid, outcome in (("aaa111", "A"), ("aaa111", "A"), ("bbb222", "B")):
        rnd = store.add_round(PROMPT, "ppo-step10", "base-t0.7", "x", "y", "v", model_a_id=uid, model_b_id="base-id")
        store.add_vote(rnd.round_id, outcome, "v")
    labelled = distinct_models(store.votes())
    assert [r.model_a for r in labelled] == ["ppo-step10 [aaa111]", "ppo-step10 [aaa111]", "ppo-step10 [bbb222]"]
    assert {r.model_b for r in labelled} == {"base-t0.7"}  # one id: the bare name
    board = leaderboard(labelled, n_bootstrap=20)
    assert set(board["contestant"]) == {"ppo-step10 [aaa111]", "ppo-step10 [bbb222]", "base-t0.7"}
