"""Shared test helpers: tiny synthetic problems and a CLI runner."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from algorithms.core.policy import GaussianPolicy
from algorithms.core.rollout_batch import RolloutBatch

REPO = Path(__file__).resolve().parent.parent


def cli_argv(*args: str) -> list[str]:
    """The command line of ``python -m safebench ARGS``, sampling in this process unless ARGS set ``train.workers``.

    A single run's default (``train.workers=auto``) starts one worker process per core and a fork server that
    imports torch for them: with spawned workers, each importing torch, that doubled the CPU time of a tiny test
    run (12 s instead of 5.5 s), for batches that are the same bit for bit
    (``tests/test_rollout_workers.py``). The tests of the workers themselves set ``train.workers``, and
    ``test_tiny_run_writes_the_whole_run_directory`` keeps the default (``train.workers=auto``)."""
    single_run = not any(arg.startswith("-") for arg in args)  # not a multirun (one core per job already) or --help
    chosen = any(arg.lstrip("+").startswith("train.workers=") for arg in args)
    return [sys.executable, "-m", "safebench", *args, *(["train.workers=0"] if single_run and not chosen else [])]


def run_cli(*args: str, cwd: Path, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m safebench ARGS`` in a process of its own, as a user would (``cli_argv``: workers only when
    asked). It is forked from a server that has imported torch and the rest once (``preloaded_cli``), unless ``env``
    sets variables, which may take effect at import, or the sweep has a launcher of its own: then it is a new
    interpreter."""
    argv = cli_argv(*args)
    if env or any(arg.lstrip("+").startswith("hydra/launcher=") for arg in args):  # joblib hangs in a forked child
        full_env = dict(os.environ, PYTHONWARNINGS="ignore", **(env or {}))
        return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env)
    return run_module("safebench", *argv[3:], cwd=cwd, timeout=timeout)  # argv: python -m safebench ARGS


_fork_server = None


def fork_server():
    """This process's multiprocessing fork server, started now with ``preloaded_cli``'s modules. Env workers fork
    from the same one (one per process): started first by a collector, it would hold only the sampler's modules,
    and every command the suite runs would import the rest (conftest starts it when a test process starts)."""
    import multiprocessing
    import multiprocessing.forkserver

    import preloaded_cli

    from safebench.interrupts import children_ignore_ctrl_c

    global _fork_server
    if _fork_server is None:
        _fork_server = multiprocessing.get_context("forkserver")
        _fork_server.set_forkserver_preload(preloaded_cli.preload())
        with children_ignore_ctrl_c():  # as the sampler starts its own: workers forked from it block SIGINT
            multiprocessing.forkserver.ensure_running()
    return _fork_server


def run_module(module: str, *args: str, cwd: Path = REPO, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m MODULE ARGS`` in a child of the fork server (``preloaded_cli``: torch and the rest already
    imported), with this process's environment and PYTHONWARNINGS=ignore; reported as subprocess.run would report
    it, TimeoutExpired included."""
    import tempfile

    import preloaded_cli

    env = dict(os.environ, PYTHONWARNINGS="ignore")
    command = ["python", "-m", module, *args]
    with tempfile.TemporaryDirectory() as folder:
        out, err = Path(folder, "stdout"), Path(folder, "stderr")
        child = fork_server().Process(target=preloaded_cli.run_module,
                                     args=(module, list(args), str(cwd), env, str(out), str(err)))
        child.start()
        child.join(timeout)
        if child.exitcode is None:
            child.kill()
            child.join()
            raise subprocess.TimeoutExpired(command, timeout)
        return subprocess.CompletedProcess(command, child.exitcode, out.read_text(), err.read_text())


def run_cli_in_process(*args: str, capsys) -> subprocess.CompletedProcess:
    """``python -m safebench ARGS`` through the same ``main`` in this process, for commands that end before
    training (refusals): a subprocess would spend most of its time importing torch. Signal handlers, the
    environment and ``sys.argv`` are restored afterwards."""
    from safebench.cli import main

    saved_handler, saved_env, saved_argv = signal.getsignal(signal.SIGTERM), dict(os.environ), list(sys.argv)
    code = 0
    try:
        main(list(args))
    except SystemExit as exit_:
        code = 0 if exit_.code is None else exit_.code if isinstance(exit_.code, int) else 1
    finally:
        signal.signal(signal.SIGTERM, saved_handler)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.argv = saved_argv
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["safebench", *args], code, out, err)


@contextlib.contextmanager
def group_killed_afterwards(process: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """For a process started with ``start_new_session=True``: whatever the test's outcome, nothing of its
    process group outlives the test (a failed signal test would leave a training run eating the cores)."""
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)


def bandit_batch(policy: GaussianPolicy, num_envs: int, horizon: int, generator: torch.Generator,
                 reward_fn, cost_fn) -> RolloutBatch:
    """A batch from a stateless problem: constant observation, per-step reward_fn(a) and cost_fn(a).

    ``cost_fn`` returns (N, T) for one constraint or (N, T, m) for several. Every row holds whole
    episodes of length ``horizon`` (truncated, so values bootstrap)."""
    steps = horizon * 4
    obs = np.zeros((num_envs, steps, 1), np.float32)
    actions, log_probs = policy.act(torch.zeros(num_envs * steps, 1), generator)
    a = actions.numpy().reshape(num_envs, steps, -1)
    rewards = reward_fn(a).astype(np.float64)
    costs = cost_fn(a).astype(np.float64)
    costs = costs[..., None] if costs.ndim == 2 else costs
    episode_end = np.zeros((num_envs, steps), bool)
    episode_end[:, horizon - 1 :: horizon] = True
    ep_costs = costs.reshape(num_envs, -1, horizon, costs.shape[-1]).sum(2).reshape(-1, costs.shape[-1])
    ep_returns = rewards.reshape(num_envs, -1, horizon).sum(-1).reshape(-1)
    flat_ends = np.flatnonzero(episode_end.reshape(-1))
    return RolloutBatch(
        obs=obs, actions=a.astype(np.float32), log_probs=log_probs.numpy().reshape(num_envs, steps),
        rewards=rewards, costs=costs, terminated=np.zeros_like(episode_end), episode_end=episode_end,
        bootstrap_index=flat_ends, bootstrap_obs=np.zeros((len(flat_ends), 1), np.float32),
        episode_returns=ep_returns, episode_costs=ep_costs,
        episode_lengths=np.full(len(ep_costs), horizon),
    )


class _FailingStep:
    """An env wrapper that raises on its ``fail_at``-th step, to test error reporting from workers."""

    def __init__(self, env, fail_at: int) -> None:
        self.env, self.fail_at, self.steps = env, fail_at, 0
        self.observation_space, self.action_space = env.observation_space, env.action_space

    def reset(self, **kwargs):
        return self.env.reset(**kwargs)

    def step(self, action):
        self.steps += 1
        if self.steps >= self.fail_at:
            raise RuntimeError("simulated physics blow-up in the environment")
        return self.env.step(action)

    def close(self):
        self.env.close()


def failing_point_circle(fail_at: int = 5):
    """A point_circle env that raises after a few steps (picklable for worker processes)."""
    import tasks

    return _FailingStep(tasks.make("point_circle"), fail_at)


def point_circle_failing_in_workers():
    """A point_circle env that cannot be built in a worker process (the learner's probe succeeds)."""
    import multiprocessing

    import tasks

    if multiprocessing.parent_process() is not None:
        raise RuntimeError("simulated missing asset in a worker")
    return tasks.make("point_circle")
