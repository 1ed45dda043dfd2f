"""The remote reward model server (`python -m rlhf_demo serve-reward`) for OpenRLHF and verl."""

from pathlib import Path

# verl's custom reward function (stdlib only), which an export copies into its bundle beside the reward model
VERL_REWARD_FILE = Path(__file__).with_name("verl_reward.py")

# an export bundle's layout, as the server reads it (`export/bundle.py` writes it): the root holds BUNDLE_FILE, and the
# reward model is in REWARD_SUBFOLDER
BUNDLE_FILE = "bundle.json"
REWARD_SUBFOLDER = "reward_model"
