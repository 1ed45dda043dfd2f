"""Other ways to get a better policy than PPO, measured the same way (reward vs KL to the base): best-of-N first."""

from rlhf_demo.compare.best_of_n import best_of_n, bon_kl, measured_bon_kl, run_best_of_n, select_best

__all__ = ["best_of_n", "bon_kl", "measured_bon_kl", "run_best_of_n", "select_best"]
