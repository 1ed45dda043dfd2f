"""The remote reward model server (`python -m rlhf_demo serve-reward`) for OpenRLHF and verl."""

from pathlib import Path

# verl's custom reward function (stdlib only), which an export copies into its bundle beside the reward model
VERL_REWARD_FILE = Path(__file__).with_name("verl_reward.py")
