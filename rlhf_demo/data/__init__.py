"""Stage 0, the data: human preference pairs (Anthropic hh-rlhf). Each pair is one conversation with two final
replies, one of them preferred by a person: the signal everything after this stage learns from."""
