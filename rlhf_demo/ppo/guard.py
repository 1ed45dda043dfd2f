"""Step 8's safety net: a PPO step whose numbers turn NaN or infinite is rolled back whole, never kept.

A learning rate far too high (or one unlucky batch) can turn a loss, a gradient or the adapter's weights into NaN or
infinity. One such step, kept, poisons every later step, every save and every arena round that batches the policy
with others. So `PPOEngine._ppo_update` opens a `StepGuard` before its first optimiser step:

    guard = StepGuard(model, value_head, optimizer, step=3, learning_rate=2e-3)  # copies what the step may change
    guard.require_finite("loss", {"loss": loss})      # after each forward pass
    guard.require_finite("gradients", guard.trained(grad=True))   # before each optimiser step
    guard.require_finite("updated weights", guard.trained())      # after it
    ...
    except NonFiniteStep: guard.roll_back(); raise    # adapter, value head and Adam's moments as they were

The copies cost one clone of the trained tensors (the LoRA adapter and the value head, a few MB) per step.
"""

from __future__ import annotations

import copy

import torch

from rlhf_demo.models.weights import non_finite


class NonFiniteStep(ValueError):
    """A step's loss, gradients or weights turned NaN or infinite: the step was rolled back (message for the user)."""


class NonFiniteWeights(ValueError):
    """An adapter or value head holding NaN or infinite weights: never saved, never loaded (message for the user)."""


class StepGuard:
    """The trained tensors and the optimiser's state as one PPO step found them, and the checks that undo the step."""

    def __init__(self, model: torch.nn.Module, value_head: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 step: int, learning_rate: float):
        self.model, self.value_head, self.optimizer = model, value_head, optimizer
        self.step, self.learning_rate = step, learning_rate  # the step about to run (1-based), for the message
        self._params = [p for p in model.parameters() if p.requires_grad] + list(value_head.parameters())
        self._saved = [p.detach().clone() for p in self._params]
        self._saved_optimizer = copy.deepcopy(optimizer.state_dict())

    def trained(self, grad: bool = False) -> dict[str, torch.Tensor | None]:
        """The trained tensors (adapter + value head) by name, or their gradients."""
        named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        named += [(f"value_head.{n}", p) for n, p in self.value_head.named_parameters()]
        return {n: (p.grad if grad else p.detach()) for n, p in named}

    def require_finite(self, what: str, tensors: dict[str, torch.Tensor | None]) -> None:
        """Raise `NonFiniteStep` (the caller rolls the step back) when a tensor holds a NaN or an infinity."""
        bad = non_finite(tensors)
        if bad:
            detail = f" ({len(bad)} of {len(tensors)} tensors, e.g. {bad[0]})" if len(tensors) > 1 else ""
            raise NonFiniteStep(
                f"PPO step {self.step} was rolled back and the run stopped: the {what} became NaN or "
                f"infinite{detail}. The policy is as it was after step {self.step - 1}. Lower the learning rate "
                f"(now {self.learning_rate:g}) and start again.")

    def roll_back(self) -> None:
        """Put the trained tensors and Adam's moments back as the step found them."""
        with torch.no_grad():
            for p, saved in zip(self._params, self._saved):
                p.copy_(saved)
        self.optimizer.load_state_dict(self._saved_optimizer)
