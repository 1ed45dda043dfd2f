"""Stage 3, the reward model: learn from preference pairs which reply a person prefers (Bradley-Terry loss, TRL's
RewardTrainer with a LoRA adapter), so that any reply can be given a score without asking a person."""
