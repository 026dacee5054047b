"""The first-order policy loss compiled by ``torch.compile``: the one speed trick of the minibatch epochs.

A first-order update takes tens of thousands of Adam steps on small minibatches (PPO-Lagrangian at the point
tasks' paper batch: 40 epochs of 782 minibatches of 64), each a few dozen tiny ops whose Python and dispatch
overhead outweighs their arithmetic. Compiled by inductor, the loss's forward and backward run as a few fused
kernels: on a 2-core AMD EPYC the minibatch step took 1.1-1.2 ms instead of 1.6-1.7 ms (four alternated
rounds, ``scripts/compare_compiled_loss.py``). Fused arithmetic rounds differently, so a compiled run's numbers
differ from an eager one's in the last bits from the first step on (the same machine gives the same numbers run
after run, resumed or not). The first compile takes seconds to half a minute per process, so ``auto`` compiles only
an update of at least ``AUTO_MIN_STEPS`` minibatch steps, where it pays for itself within the first update:
tests and smoke runs stay eager. ``FirstOrderAlgorithm`` decides once, at its first update, from the batch size.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable

import torch

MODES = ("never", "always", "auto")  # not on/off: YAML 1.1 reads those as booleans
AUTO_MIN_STEPS = 10_000  # minibatch steps per update from which ``auto`` compiles
BACKEND = "inductor"  # tests of the plumbing swap in "aot_eager" (no C++ compile)
RECOMPILE_LIMIT = 64  # graphs of one loss's code in a process (torch's default: 8)

log = logging.getLogger("safebench")


def should_compile(mode: str, epochs: int, batch_steps: int, minibatch_size: int) -> bool:
    """Whether an update of ``batch_steps`` samples in ``epochs`` passes of minibatches is compiled in ``mode``."""
    if mode not in MODES:
        raise ValueError(f"compile_policy_loss must be one of {', '.join(MODES)}, got {mode!r}")
    steps = epochs * math.ceil(batch_steps / minibatch_size)
    return mode == "always" or (mode == "auto" and steps >= AUTO_MIN_STEPS)


class CompiledLoss:
    """``loss`` compiled with fixed shapes (the minibatch size and the last, shorter minibatch: two graphs).

    A loss whose graph depends on a Python number that changes between updates would recompile at every update;
    that fails loudly (``fail_on_recompile_limit_hit``, after RECOMPILE_LIMIT graphs) instead of falling back to
    eager arithmetic mid-run. A machine where the first call cannot compile (no C++ compiler, a platform
    torch.compile does not support) runs the loss eagerly, with a warning, from the start: the first call
    decides, so a resumed run decides the same way."""

    def __init__(self, loss: Callable[..., torch.Tensor]) -> None:
        # each algorithm class used in a process (a notebook, a test) compiles the same code again for its type of
        # ``self``: two graphs per class (the minibatch and the batch's shorter tail), room for 32 classes
        torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
        torch._dynamo.config.fail_on_recompile_limit_hit = True
        self.eager, self.failed, self.calls = loss, False, 0
        try:
            self.compiled = torch.compile(loss, dynamic=False, backend=BACKEND)
        except RuntimeError as error:  # a platform torch.compile does not support
            self._fall_back(error)
        else:
            log.info("the policy loss runs through torch.compile (algo.compile_policy_loss=never runs it eagerly)")

    def __call__(self, *args: object) -> torch.Tensor:
        if self.failed:
            return self.eager(*args)
        try:
            return self.compiled(*args)
        except Exception as error:  # noqa: BLE001 - at the first call only: a loss that is wrong fails eagerly too
            if self.calls:
                raise
            self._fall_back(error)
            return self.eager(*args)
        finally:
            self.calls += 1

    def _fall_back(self, error: Exception) -> None:
        """Run eagerly from now on, and say why."""
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        warnings.warn(f"torch.compile could not compile the policy loss ({reason}); it runs eagerly "
                      "(algo.compile_policy_loss=never says so without trying)", stacklevel=3)
        self.failed = True
