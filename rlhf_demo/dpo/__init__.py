"""DPO (Direct Preference Optimization, Rafailov et al. 2023): the policy learns from preference pairs directly, with
no reward model and no sampling. Headless backend: `config.DPOConfig`, `trainer.train_dpo`, `cli.dpo_main`."""
