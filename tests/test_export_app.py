"""The app's export (Reward tab button, `/export_bundle`): the active model, the data with the class's counted votes,
and the app's policy, as a bundle in the data folder and a zip to download."""

from __future__ import annotations

import json
import shutil
import zipfile

import pytest
from gradio_client import Client

from .conftest import serve


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from rlhf_demo.settings import Settings

    url, ws, demo = serve(Settings(offline=True, policy="tiny", data_dir=tmp_path_factory.mktemp("rlhf_data_export")))
    yield ws, Client(url, verbose=False, analytics_enabled=False, download_files=False)
    demo.close()


def test_nothing_to_export_before_a_reward_model_is_active(app):
    _, client = app
    with pytest.raises(Exception, match="No active reward model to export"):
        client.predict("", api_name="/export_bundle")


def test_export_the_active_model_with_the_class_votes(app, tiny_reward_model):
    from rlhf_demo.arena.hygiene import VoteFilters

    ws, client = app
    shutil.copytree(tiny_reward_model, ws.root / "reward_models" / "rm-bundled")
    ws.reward.models.set_active("rm-bundled")
    ws.standings.set_filters(VoteFilters(min_seconds=0.0))  # a vote right after its round counts
    r = client.predict("How do I keep basil fresh?", api_name="/arena_round")
    client.predict(r["round_id"], "B", "", api_name="/arena_vote")

    out = client.predict("", api_name="/export_bundle")
    info = out["bundle"]
    assert info["reward_model"]["name"] == "rm-bundled" and info["preferences"]["votes"] == 1
    assert info["policy_path"] == "base_policy"  # the app's tiny policy, given an hh chat template
    folder = ws.root / "exports"
    assert str(folder) in out["folder"] and (folder / out["folder"].split("/")[-1] / "bundle.json").is_file()
    with zipfile.ZipFile(out["zip"]) as z:
        names = z.namelist()
        top = out["folder"].split("/")[-1]
        assert f"{top}/bundle.json" in names and f"{top}/reward_model/model.safetensors" in names
        assert json.loads(z.read(f"{top}/bundle.json"))["preferences"]["votes"] == 1
