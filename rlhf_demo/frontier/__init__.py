"""Stage 5, the reward-KL frontier: every way of improving the policy (best-of-N, DPO, PPO) measured the same way, gold
reward against KL from the base policy (Gao et al. 2022). Best-of-N needs no training: it is sampled here."""
