"""PPO-Lagrangian, PID-Lagrangian, PCPO and FOCOPS end to end: a sweep through the CLI, exact resume."""

import io

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import bandit_batch, run_cli

from algorithms.focops import FOCOPS
from algorithms.pcpo import PCPO
from algorithms.pid_lagrangian import PIDLagrangian
from algorithms.ppo_lagrangian import PPOLagrangian

NEW = ["ppo_lagrangian", "pid_lagrangian", "pcpo", "focops"]
MULTIPLIER = {"ppo_lagrangian": "lagrange_multiplier", "pid_lagrangian": "lagrange_multiplier",
              "focops": "lagrange_multiplier", "pcpo": "pcpo_projection"}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """One multirun, as docs/adding_an_algorithm.md compares a new algorithm with CPO."""
    root = tmp_path_factory.mktemp("sweep")
    result = run_cli("-m", f"+algo=cpo,{','.join(NEW)}", "+task=point_circle", "seed=0", "train.total_steps=2000",
                     "train.batch_size=1000", "train.num_envs=2", f"hydra.sweep.dir={root}", cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    return root


@pytest.mark.parametrize("algo", NEW)
def test_runs_through_the_cli_and_logs_kl_entropy_and_multipliers(sweep, algo):
    (path,) = (sweep / "point_circle" / algo).rglob("progress.csv")  # <algo>/[<other overrides>/]seed0
    progress = pd.read_csv(path)
    assert list(progress["epoch"]) == [1, 2] and list(progress["env_steps"]) == [1000, 2000]
    assert progress[["return_mean", "cost_mean", "kl", "entropy"]].notna().all().all()
    assert (progress["kl"] >= 0).all() and (progress["kl"] < 0.2).all()
    assert progress["entropy"].between(0.5, 5.0).all()  # 2-d Gaussian, log std near 0: 2.84
    assert (progress[MULTIPLIER[algo]] >= 0).all()
    if algo == "pcpo":  # the line search keeps the trust region
        assert (progress["kl"] <= 0.01 + 1e-6).all()
    else:  # first-order: the point_circle batch violates (J_C ~ 20 > 5), so the multiplier rises
        assert progress[MULTIPLIER[algo]].iloc[1] > progress[MULTIPLIER[algo]].iloc[0] > 0
        assert (progress["policy_epochs"] >= 1).all()


def make(cls):
    return cls(obs_dim=1, act_dim=1, cost_limit=5.0, seed=3, hidden_sizes=(8,), critic_hidden_sizes=(8,),
               cost_gae_lambda=0.95, critic_epochs=2)


def saved(state):
    """Through torch.save, as a checkpoint is."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


@pytest.mark.parametrize("cls", [PPOLagrangian, PIDLagrangian, PCPO, FOCOPS])
def test_resume_from_state_dict_continues_exactly(cls):
    generator = torch.Generator().manual_seed(0)

    def batch(algo):
        return bandit_batch(algo.policy, 4, 10, generator, lambda a: a[..., 0], lambda a: 10 * a[..., 0] ** 2)

    algo = make(cls)
    algo.update(batch(algo))
    state = saved(algo.state_dict())
    second = batch(algo)
    expected = algo.update(second)
    resumed = make(cls)
    resumed.load_state_dict(state)
    got = resumed.update(second)
    assert got.keys() == expected.keys()
    np.testing.assert_allclose([got[k] for k in expected], list(expected.values()), rtol=1e-6)
    for a, b in zip(algo.policy.parameters(), resumed.policy.parameters()):
        assert torch.equal(a, b)
