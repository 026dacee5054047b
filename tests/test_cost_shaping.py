"""The paper's cost shaping (Section 6.3): targets, episode sums, the shaped batch, a run and its resume."""

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import run_cli

from algorithms.core.cost_shaping import CostShaper, completed_episode_sums, hazard_targets
from algorithms.core.rollout_batch import RolloutBatch


def test_hazard_targets_look_ahead_within_the_episode_only():
    costs = np.zeros((1, 8, 1))
    costs[0, 5] = 1.0
    costs[0, 1] = costs[0, 2] = 0.6
    episode_end = np.zeros((1, 8), bool)
    episode_end[0, 3] = True  # steps 0-3 are one episode, 4-7 the next
    targets = hazard_targets(costs, episode_end, horizon=3)[0, :, 0]
    # t=0 sees 0, 0.6, 0.6 (clipped to 1); t=2 sees 0.6 and step 3 (its episode ends there)
    np.testing.assert_allclose(targets, [1.0, 1.0, 0.6, 0.0, 1.0, 1.0, 0.0, 0.0])
    assert hazard_targets(costs, episode_end, horizon=1)[0, 5, 0] == 1.0
    assert hazard_targets(costs, episode_end, horizon=100)[0, 0, 0] == 1.0  # longer than the batch


def random_episodes(seed: int, n: int = 5, steps: int = 40, m: int = 2):
    rng = np.random.default_rng(seed)
    values = rng.random((n, steps, m))
    episode_end = rng.random((n, steps)) < 0.15
    return values, episode_end


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_completed_episode_sums_follow_the_samplers_episode_order(seed):
    values, episode_end = random_episodes(seed)
    expected = []  # (step it ended at, env, sum), walked as the sampler records them
    for env in range(values.shape[0]):
        start = 0
        for t in np.flatnonzero(episode_end[env]):
            expected.append((t, env, values[env, start:t + 1].sum(0)))
            start = t + 1
    expected.sort(key=lambda e: (e[0], e[1]))
    got = completed_episode_sums(values, episode_end)
    np.testing.assert_allclose(got, np.array([e[2] for e in expected]).reshape(-1, 2))
    assert completed_episode_sums(values, np.zeros_like(episode_end)).shape == (0, 2)


def batch_with_hazard(seed: int = 0, n: int = 8, steps: int = 60) -> RolloutBatch:
    """obs[0] is a 'danger' signal: a cost follows 2 steps after it exceeds 0.5; episodes of 20 steps."""
    rng = np.random.default_rng(seed)
    obs = rng.uniform(-1, 1, (n, steps, 3)).astype(np.float32)
    costs = np.zeros((n, steps, 1))
    costs[:, 2:, 0] = obs[:, :-2, 0] > 0.5
    episode_end = np.zeros((n, steps), bool)
    episode_end[:, 19::20] = True
    episode_costs = completed_episode_sums(costs, episode_end)
    return RolloutBatch(
        obs=obs, actions=np.zeros((n, steps, 1), np.float32), log_probs=np.zeros((n, steps), np.float32),
        rewards=np.zeros((n, steps)), costs=costs, terminated=np.zeros((n, steps), bool), episode_end=episode_end,
        bootstrap_index=np.zeros(0, np.int64), bootstrap_obs=np.zeros((0, 3), np.float32),
        episode_returns=np.zeros(len(episode_costs)), episode_costs=episode_costs,
        episode_lengths=np.full(len(episode_costs), 20))


def test_shaped_batch_adds_the_learned_hazard_after_the_warm_up():
    torch.manual_seed(0)
    shaper = CostShaper(3, 1, horizon=3, coeff=2.0, epochs=200, lr=1e-2, warmup_fits=2)
    batch = batch_with_hazard()
    for fit in range(2):  # warm-up: C+ = C while the model is fitted
        shaped, _ = shaper.shape(batch)
        np.testing.assert_array_equal(shaped.costs, batch.costs)
        np.testing.assert_array_equal(shaped.episode_costs, batch.episode_costs)
    shaped, loss = shaper.shape(batch)
    obs = torch.from_numpy(batch.obs.reshape(-1, 3))
    targets = hazard_targets(batch.costs, batch.episode_end, 3)
    assert shaper.fits == 3 and loss < 0.85 * targets.var()  # better than the best constant
    bonus = shaped.costs - batch.costs
    assert (bonus > 0).all() and bonus.max() <= 2.0
    # the episode costs are the episode sums of the shaped step costs: J_C+ in the constraint
    np.testing.assert_allclose(shaped.episode_costs, completed_episode_sums(shaped.costs, batch.episode_end))
    # the model learned where cost follows: danger states score higher than safe ones
    with torch.no_grad():
        delta = shaper.model(obs).numpy().ravel()
    danger = batch.obs.reshape(-1, 3)[:, 0] > 0.5
    assert delta[danger].mean() > delta[~danger].mean() + 0.3


TINY = ["+task=point_circle", "train.batch_size=1000", "train.num_envs=2", "train.total_steps=6000", "seed=3",
        "algo.cost_shaping=true", "train.checkpoint_every=2"]


@pytest.mark.slow  # 28 s; shaping's pieces are tested in-process above
def test_cpo_with_cost_shaping_runs_logs_both_costs_and_resumes_exactly(tmp_path):
    reference = tmp_path / "reference"
    result = run_cli("+algo=cpo", *TINY, f"hydra.run.dir={reference}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    progress = pd.read_csv(reference / "progress.csv")
    assert {"shaped_cost_mean", "hazard_loss"} <= set(progress.columns)
    np.testing.assert_allclose(progress.shaped_cost_mean[:2], progress.cost_mean[:2])  # warm-up: C+ = C
    assert (progress.shaped_cost_mean[2:] > progress.cost_mean[2:]).all()
    # a run stopped after 4 updates and resumed gives the same curve (Delta's model is checkpointed)
    partial_run = tmp_path / "partial"
    assert run_cli("+algo=cpo", *TINY[:-4], "train.total_steps=4000", *TINY[-3:],
                   f"hydra.run.dir={partial_run}", cwd=tmp_path).returncode == 0
    resumed = run_cli("+algo=cpo", *TINY, "resume=true", f"hydra.run.dir={partial_run}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    # the evaluation columns are left out: the shorter first run evaluated after its own last update, which
    # the longer run does not (a resume with the same budget reproduces them too: tests/test_resume.py)
    columns = [c for c in progress.columns if not c.endswith(("time_s", "steps_per_s")) and not c.startswith("eval_")]
    pd.testing.assert_frame_equal(pd.read_csv(partial_run / "progress.csv")[columns], progress[columns])
    # resuming it without cost shaping is refused: the checkpoint's Delta would be dropped halfway
    switched = run_cli("+algo=cpo", *TINY[:-2], "train.total_steps=8000", "resume=true",
                       f"hydra.run.dir={reference}", cwd=tmp_path)
    assert switched.returncode == 2 and "cost_shaping" in switched.stderr and "Traceback" not in switched.stderr


def test_report_names_the_shaped_arm_except_for_cost_blind_trpo():
    from omegaconf import OmegaConf

    from safebench.report.run_loading import algo_label

    def label(name, target):
        return algo_label(OmegaConf.create({"name": name, "_target_": target, "cost_shaping": True}))

    assert label("cpo", "algorithms.cpo.CPO") == "cpo(cost_shaping)"
    assert label("trpo", "algorithms.trpo.TRPO") == "trpo"
