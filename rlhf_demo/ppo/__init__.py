"""Stage 4, reinforcement learning: PPO changes the policy (a LoRA adapter) to raise the reward model's score,
with a KL penalty that keeps it close to the frozen base policy. Our own engine: TRL >= 1.13 has no PPO trainer."""
