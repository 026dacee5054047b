"""The first-order policy loss under torch.compile (``compile_policy_loss``): when it is compiled, that the compiled
loss is the loss, that a machine which cannot compile runs eagerly, and (slow, inductor) that a compiled run resumes
exactly."""

import warnings

import numpy as np
import pytest
import torch
from helpers import bandit_batch
from test_new_algorithms import assert_resumes_exactly

import algorithms.core.compiled_loss as compiled_loss
from algorithms.core.compiled_loss import AUTO_MIN_STEPS, CompiledLoss, should_compile
from algorithms.cup import CUP
from algorithms.focops import FOCOPS
from algorithms.ipo import IPO
from algorithms.pid_lagrangian import PIDLagrangian
from algorithms.ppo_lagrangian import PPOLagrangian
from algorithms.rcpo import RCPO
from algorithms.saute import Saute


def test_auto_compiles_only_updates_long_enough_to_repay_the_compile():
    # the point tasks' paper batch, 40 epochs of minibatches of 64: 31,280 steps
    assert should_compile("auto", 40, 50_000, 64) and not should_compile("auto", 40, 4_000, 64)
    assert should_compile("auto", 1, AUTO_MIN_STEPS * 64, 64) and not should_compile("auto", 1, AUTO_MIN_STEPS * 64 - 64, 64)
    assert should_compile("always", 1, 1, 64) and not should_compile("never", 40, 10**6, 64)
    with pytest.raises(ValueError, match="one of never, always, auto"):
        should_compile("off", 1, 1, 1)


def test_a_loss_that_cannot_be_compiled_is_refused_and_auto_leaves_it_eager():
    with pytest.raises(ValueError, match="FOCOPS's policy loss cannot be compiled"):
        FOCOPS(obs_dim=1, act_dim=1, cost_limit=5.0, compile_policy_loss="always")
    algo = FOCOPS(obs_dim=1, act_dim=1, cost_limit=5.0, compile_policy_loss="auto")
    algo.choose_loss_function(10**6)
    assert algo.loss_function == algo.policy_loss


def _algorithm_and_batches(mode: str) -> tuple[PPOLagrangian, list]:
    algo = PPOLagrangian(obs_dim=1, act_dim=1, cost_limit=5.0, seed=3, hidden_sizes=(8,), critic_hidden_sizes=(8,),
                         cost_gae_lambda=0.95, critic_epochs=2, update_epochs=2, compile_policy_loss=mode)
    generator = torch.Generator().manual_seed(0)
    batches = [bandit_batch(algo.policy, 4, 10, generator, lambda a: a[..., 0], lambda a: 10 * a[..., 0] ** 2)
               for _ in range(2)]
    return algo, batches


def test_the_compiled_loss_is_the_loss(monkeypatch):
    """Through AOT autograd without inductor's code generation (fast): the same losses and gradients, to float32
    rounding, step after step of an update."""
    monkeypatch.setattr(compiled_loss, "BACKEND", "aot_eager")
    torch._dynamo.reset()
    eager, batches = _algorithm_and_batches("never")
    compiled, _ = _algorithm_and_batches("always")
    for batch in batches:
        expected, got = eager.update(batch), compiled.update(batch)
        assert isinstance(compiled.loss_function, CompiledLoss) and eager.loss_function == eager.policy_loss
        np.testing.assert_allclose(got["policy_loss"], expected["policy_loss"], rtol=1e-4, atol=1e-6)
    for a, b in zip(eager.policy.parameters(), compiled.policy.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_several_algorithms_in_one_process_each_compile_their_own_loss(monkeypatch):
    """Each algorithm class compiles the shared loss code again (its ``self`` is another type), two graphs each (the
    minibatch and the batch's shorter tail): six classes pass torch's default limit of 8 graphs, not the module's."""
    monkeypatch.setattr(compiled_loss, "BACKEND", "aot_eager")
    torch._dynamo.reset()
    generator = torch.Generator().manual_seed(0)
    for cls in (PPOLagrangian, PIDLagrangian, RCPO, Saute, IPO, CUP):
        algo = cls(obs_dim=1, act_dim=1, cost_limit=5.0, seed=3, hidden_sizes=(8,), critic_hidden_sizes=(8,),
                   cost_gae_lambda=0.95, critic_epochs=2, update_epochs=2, minibatch_size=30,
                   compile_policy_loss="always")  # 160 samples a batch: minibatches of 30 and a tail of 10
        batch = bandit_batch(algo.policy, 4, 10, generator, lambda a: a[..., 0], lambda a: 10 * a[..., 0] ** 2)
        assert np.isfinite(algo.update(batch)["policy_loss"]) and isinstance(algo.loss_function, CompiledLoss)


def test_a_machine_that_cannot_compile_runs_the_loss_eagerly_with_a_warning(monkeypatch):
    def broken_compile(function, **_):
        def call(*args):
            raise torch._dynamo.exc.BackendCompilerFailed(lambda *a: None, RuntimeError("no C++ compiler"), None)
        return call

    monkeypatch.setattr(torch, "compile", broken_compile)
    eager, batches = _algorithm_and_batches("never")
    fallback, _ = _algorithm_and_batches("always")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = fallback.update(batches[0])
    assert any("could not compile the policy loss" in str(w.message) for w in caught)
    assert got["policy_loss"] == eager.update(batches[0])["policy_loss"]  # eager from the first step: the same run


@pytest.mark.slow
def test_a_compiled_run_resumes_exactly():
    """Inductor (a C++ compile of some seconds): a checkpointed and reloaded algorithm continues as the original."""
    torch._dynamo.reset()
    assert_resumes_exactly(lambda: _algorithm_and_batches("always")[0])
