"""The algorithms added after CPO end to end: a sweep through the CLI, exact resume.

To add an algorithm, add one ``New`` row to ``NEW``: the sweep and the resume test both read it.
"""

import io
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import bandit_batch, run_cli

from algorithms.core.first_order import FirstOrderAlgorithm
from algorithms.core.trust_region import TrustRegionAlgorithm
from algorithms.crpo import CRPO
from algorithms.cup import CUP
from algorithms.focops import FOCOPS
from algorithms.ipo import IPO
from algorithms.p3o import P3O
from algorithms.pcpo import PCPO
from algorithms.pid_lagrangian import PIDLagrangian
from algorithms.ppo_lagrangian import PPOLagrangian
from algorithms.rcpo import RCPO
from algorithms.saute import Saute


class New(NamedTuple):
    """One algorithm under test: its conf/algo name, its class, and the progress.csv column of its
    multiplier (None for an algorithm without one)."""

    name: str
    cls: type
    multiplier: str | None = None


NEW = [
    New("ppo_lagrangian", PPOLagrangian, "lagrange_multiplier"),
    New("pid_lagrangian", PIDLagrangian, "lagrange_multiplier"),
    New("pcpo", PCPO, "pcpo_projection"),
    New("focops", FOCOPS, "lagrange_multiplier"),
    New("cup", CUP, "lagrange_multiplier"),
    New("p3o", P3O, None),
    New("crpo", CRPO, None),
    New("ipo", IPO, None),  # its weight sits at penalty_max while point_circle is infeasible: tests/test_ipo.py
    New("saute", Saute, None),
    New("rcpo", RCPO, "lagrange_multiplier"),
]
HALVES = 2  # the algorithms run as two sweeps, each on one test worker (an xdist group), side by side
PARAMS = [pytest.param(new, id=new.name) for new in NEW]
SWEEP_PARAMS = [pytest.param(new, id=new.name, marks=pytest.mark.xdist_group(f"new_algorithms_sweep{i % HALVES}"))
                for i, new in enumerate(NEW)]
_sweeps: dict[int, object] = {}  # half -> its sweep folder, built once per test process


@pytest.fixture
def sweep(tmp_path_factory, new):
    """The multirun of this algorithm's half of NEW, as docs/adding_an_algorithm.md compares a new algorithm with
    CPO (the first half runs CPO as well)."""
    half = NEW.index(new) % HALVES
    if half not in _sweeps:
        root = tmp_path_factory.mktemp(f"sweep{half}")
        names = ["cpo"] * (half == 0) + [n.name for n in NEW[half::HALVES]]
        result = run_cli("-m", f"+algo={','.join(names)}", "+task=point_circle", "seed=0", "train.total_steps=2000",
                         "train.batch_size=1000", "train.num_envs=2", f"hydra.sweep.dir={root}", cwd=root)
        assert result.returncode == 0, result.stderr[-3000:]
        _sweeps[half] = root
    return _sweeps[half]


@pytest.mark.parametrize("new", SWEEP_PARAMS)  # each half's tests on one worker, which builds its sweep once
def test_runs_through_the_cli_and_logs_kl_entropy_and_multipliers(sweep, new):
    (path,) = (sweep / "point_circle" / new.name).rglob("progress.csv")  # <algo>/[<other overrides>/]seed0
    progress = pd.read_csv(path)
    assert list(progress["epoch"]) == [1, 2] and list(progress["env_steps"]) == [1000, 2000]
    assert progress[["return_mean", "cost_mean", "kl", "entropy"]].notna().all().all()
    assert (progress["kl"] >= 0).all() and (progress["kl"] < 0.2).all()
    assert progress["entropy"].between(0.5, 5.0).all()  # 2-d Gaussian, log std near 0: 2.84
    if new.multiplier is not None:
        assert (progress[new.multiplier] >= 0).all()
    if issubclass(new.cls, TrustRegionAlgorithm):  # the line search keeps the trust region
        assert (progress["kl"] <= 0.01 + 1e-6).all()
    if issubclass(new.cls, FirstOrderAlgorithm):
        assert (progress["policy_epochs"] >= 1).all()
        if new.multiplier is not None:  # the point_circle batch violates (J_C ~ 20 > 5), so the multiplier rises
            assert progress[new.multiplier].iloc[1] > progress[new.multiplier].iloc[0] > 0


def make(cls):
    return cls(obs_dim=1, act_dim=1, cost_limit=5.0, seed=3, hidden_sizes=(8,), critic_hidden_sizes=(8,),
               cost_gae_lambda=0.95, critic_epochs=2)


def saved(state):
    """Through torch.save, as a checkpoint is."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


def assert_resumes_exactly(build) -> None:
    """An algorithm from ``build()``, updated once, saved and reloaded into a fresh one, takes the same second update."""
    generator = torch.Generator().manual_seed(0)

    def batch(algo):
        return bandit_batch(algo.policy, 4, 10, generator, lambda a: a[..., 0], lambda a: 10 * a[..., 0] ** 2)

    algo = build()
    algo.update(batch(algo))
    state = saved(algo.state_dict())
    second = batch(algo)
    expected = algo.update(second)
    resumed = build()
    resumed.load_state_dict(state)
    got = resumed.update(second)
    assert got.keys() == expected.keys()
    np.testing.assert_allclose([got[k] for k in expected], list(expected.values()), rtol=1e-6)
    for a, b in zip(algo.policy.parameters(), resumed.policy.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("new", PARAMS)
def test_resume_from_state_dict_continues_exactly(new):
    assert_resumes_exactly(lambda: make(new.cls))
