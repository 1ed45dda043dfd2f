"""Physical bounds on the knobs every trainer shares: one place, so the command line, the API and the UI refuse the
same values (each config's `validate()` checks them, with the field and the bound in its message).

Outside these a run does not learn anything: it only overflows (NaN weights, a probability tensor of inf) or crawls.
"""

# Sampling temperature: logits are divided by it. Below 0.05 sampling is already greedy (a logit gap of 1 becomes
# e^20), and 1e-300 overflows to inf; above 5 every token is about as likely as any other (word salad).
MIN_TEMPERATURE = 0.05
MAX_TEMPERATURE = 5.0

# Learning rate (Adam, LoRA or full): Adam moves each weight by about lr per step, and LoRA and transformer weights
# are of order 0.01-0.1. At 0.1 one step rewrites them (the reward-hacking demo uses 3e-3; typical 1e-5..1e-3);
# above, a step only destroys the model (lr = 1e30 saved an adapter of NaN).
MAX_LEARNING_RATE = 0.1

# β (PPO's kl_coef, DPO's beta): PPO's scores are normalised to the base policy's std (1), so β = 10 already weighs
# a nat of KL ten times a standard deviation of reward: the policy cannot move. β = 0 is the reward-hacking demo.
MAX_KL_COEF = 10.0
