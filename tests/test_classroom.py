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


def test_a_locked_control_says_why_it_is_grey():
    """Issue 23: locked buttons said "· instructor only"; a locked slider or number box said nothing."""
    import gradio as gr

    from rlhf_demo.ui.instructor import LOCKED_INFO, looks

    with gr.Blocks():
        button = gr.Button("Start")
        slider = gr.Slider(0, 1, info="passes over each batch")
        number = gr.Number(3)
        state = gr.State(1)
    locked = looks([button, slider, number, state], unlocked=False)
    assert locked[0]["value"] == "Start · instructor only" and locked[0]["interactive"] is False
    assert locked[1]["info"] == f"passes over each batch · {LOCKED_INFO}" and locked[2]["info"] == LOCKED_INFO
    assert "info" not in locked[3]
    unlocked = looks([button, slider, number], unlocked=True)
    assert unlocked[0]["value"] == "Start" and unlocked[1]["info"] == "passes over each batch"
    assert unlocked[2]["info"] == "" and all(u["interactive"] for u in unlocked)


def test_the_student_view_gets_a_short_data_line_and_hides_the_instructors_sections():
    from rlhf_demo.ui.app import BUNDLED_NOTE
    from rlhf_demo.ui.common import CSS

    assert "rl-for-student" in BUNDLED_NOTE and "--data PATH" in BUNDLED_NOTE.split("rl-for-student")[0]
    hiding = " ".join(rule.split("{")[0] for rule in CSS.split("}") if "display: none" in rule)
    for section in ("#vote-filters", "#cal-instructor", ".rl-instructor", ".rl-for-instructor",
                    "#rl-tabs .column:has(#ppo-start)"):
        assert f"body.rl-student {section}" in hiding, section
