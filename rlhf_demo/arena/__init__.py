"""Stage 2, collecting preferences: two anonymous models answer one prompt, a person votes, the votes are stored
(SQLite) and ranked (Elo, Bradley-Terry). Each vote is a new preference pair for the reward model."""
