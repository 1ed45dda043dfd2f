"""Stage 1, the models: the policy (the chat model RLHF will change) and the reward backbone, resolved once from a
preset, a folder or the Hub, and how a policy generates a reply."""
