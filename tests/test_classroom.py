"""The classroom strip: the join link (and its QR code) points students at the student view."""

from __future__ import annotations

from types import SimpleNamespace

from rlhf_demo.ui.classroom import app_url, join_html, plan_markdown
from rlhf_demo.lesson import LessonState


def test_the_join_panel_links_the_student_view_with_a_qr_code():
    out = join_html("http://192.168.1.20:7860/")
    assert "http://192.168.1.20:7860/?view=student" in out and "<svg" in out
    assert "localhost" not in out  # no warning for an address phones can reach
    assert "--host 0.0.0.0" in join_html("http://127.0.0.1:7860/")  # a localhost page says what to do


def test_the_app_url_is_the_space_host_or_the_host_the_page_was_opened_on(monkeypatch):
    monkeypatch.delenv("SPACE_HOST", raising=False)
    request = SimpleNamespace(headers={"host": "10.0.0.5:7860"}, request=None)
    assert app_url(request) == "http://10.0.0.5:7860/"
    proxied = SimpleNamespace(headers={"host": "internal:7860", "x-forwarded-host": "class.example.org",
                                       "x-forwarded-proto": "https"}, request=None)
    assert app_url(proxied) == "https://class.example.org/"
    monkeypatch.setenv("SPACE_HOST", "teacher-rlhf.hf.space")
    assert app_url(request) == "https://teacher-rlhf.hf.space/"


def test_the_plan_marks_done_steps_in_plain_characters():
    out = plan_markdown(LessonState(votes=25))
    assert out.splitlines()[0].startswith("✓ **Vote**") and "○ **Train a reward model**" in out
