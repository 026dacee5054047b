"""Sweeps through Hydra multirun: launchers, named experiments, the smoke budget, resume, report, wandb."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import run_cli
from omegaconf import OmegaConf

from safebench import CONF_DIR
from safebench.command_line import compose_config
from safebench.config_validation import available, validate_config
from safebench.trainer import Budget

TINY = ["train.total_steps=2000", "train.batch_size=1000", "train.num_envs=2"]
EXPERIMENTS = {
    "paper_fig1_point": {"+task": "point_circle,point_gather", "+algo": "cpo,lagrangian,trpo", "seed": "0,1,2,3,4"},
    "paper_fig1_ant": {"+task": "ant_circle,ant_gather,humanoid_circle", "+algo": "cpo,lagrangian,trpo",
                       "seed": "0,1,2,3,4,5,6,7,8,9"},
    "paper_fig3_penalty": {"+task": "point_circle", "seed": "0,1,2",
                           "+algo_variant": "cpo,fixed_penalty_beta1,fixed_penalty_beta5,fixed_penalty_beta50"},
    "all_algorithms": {"+task": "point_circle,point_gather",
                       "+algo": "cpo,crpo,cup,fixed_penalty,focops,ipo,lagrangian,p3o,pcpo,pid_lagrangian,"
                                "ppo_lagrangian,rcpo,saute,trpo",
                       "seed": "0,1,2"},
}
EXPERIMENT_TASKS = [(name, task) for name, params in EXPERIMENTS.items() for task in params["+task"].split(",")]


def run_dirs(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob("progress.csv"))


def task_exists(task: str) -> bool:
    return (CONF_DIR / "task" / f"{task}.yaml").is_file()


def expand(params: dict[str, str]) -> list[list[str]]:
    """The jobs Hydra's basic sweeper makes of ``params`` (a Cartesian product)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()])
    return [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]


# ---- configuration only (fast) --------------------------------------------------------------------

def test_slurm_preset_composes_on_the_submitit_launcher():
    cfg = compose_config(["+algo=trpo", "+task=point_circle", "hydra/launcher=slurm"])
    launcher = cfg.hydra.launcher
    assert launcher._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert (launcher.timeout_min, launcher.cpus_per_task, launcher.mem_gb) == (720, 2, 4)
    assert launcher.partition is None and launcher.array_parallelism == 64 and launcher.tasks_per_node == 1
    assert OmegaConf.to_container(cfg.hydra.launcher)["submitit_folder"] == "${hydra.sweep.dir}/.submitit/%j"
    custom = compose_config(["+algo=trpo", "+task=point_circle", "hydra/launcher=slurm", "hydra.launcher.partition=cpu",
                       "hydra.launcher.timeout_min=60"])
    assert custom.hydra.launcher.partition == "cpu" and custom.hydra.launcher.timeout_min == 60


def test_a_resume_that_changes_a_resumable_key_finds_the_same_run_directory():
    """Every key a resume may change stays out of the jobs' directory names: a sweep resumed with a larger
    task.total_steps (or other workers) continues its runs instead of starting new ones beside them."""
    from safebench.run_directory import flatten, is_resumable_key, resolved_config

    cfg = compose_config(["+algo=cpo", "+task=ant_circle"])
    resumable = {key for key in flatten(resolved_config(cfg)) if is_resumable_key(key)
                 and not key.startswith(("algo.ranges", "task.ranges"))}  # declared ranges: not set on a command line
    assert resumable and resumable <= set(cfg.hydra.job.config.override_dirname.exclude_keys)


def test_joblib_launcher_runs_one_job_per_core_in_processes():
    cfg = compose_config(["+algo=trpo", "+task=point_circle", "hydra/launcher=joblib"])
    assert cfg.hydra.launcher._target_.endswith("JoblibLauncher")
    assert cfg.hydra.launcher.n_jobs == -1 and cfg.hydra.launcher.prefer == "processes"


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_experiment_declares_its_sweep(name):
    cfg = compose_config([f"+experiment={name}"])
    assert OmegaConf.to_container(cfg.hydra.sweeper.params) == EXPERIMENTS[name]
    assert OmegaConf.to_container(cfg.hydra.sweep)["dir"].startswith(f"results_runs/{name}/")


@pytest.mark.parametrize("name, task", EXPERIMENT_TASKS)
def test_experiment_jobs_are_valid_with_paper_and_smoke_budgets(name, task):
    if not task_exists(task):
        pytest.skip(f"conf/task/{task}.yaml does not exist yet")
    jobs = [job for job in expand(EXPERIMENTS[name]) if f"+task={task}" in job and "seed=0" in job]
    variants = EXPERIMENTS[name].get("+algo", EXPERIMENTS[name].get("+algo_variant"))
    assert len(jobs) == len(variants.split(","))
    for job in jobs:
        for budget in ([], ["+budget=smoke"]):
            cfg = compose_config([f"+experiment={name}", *budget, *job])
            assert validate_config(cfg) == [], (job, budget)
    if name == "paper_fig3_penalty":
        betas = {variant: compose_config([f"+experiment={name}", f"+algo_variant={variant}", f"+task={task}"]).algo
                 for variant in EXPERIMENTS[name]["+algo_variant"].split(",")}
        assert betas["cpo"].name == "cpo" and "beta" not in betas["cpo"]
        assert {v: a.beta for v, a in betas.items() if v != "cpo"} == {
            "fixed_penalty_beta1": 1, "fixed_penalty_beta5": 5, "fixed_penalty_beta50": 50}


@pytest.mark.parametrize("task", available("task"))
def test_smoke_budget_is_two_small_updates_on_every_task(task):
    cfg = compose_config(["+algo=trpo", f"+task={task}", "+budget=smoke"])
    assert validate_config(cfg) == []  # includes batch_size / num_envs >= horizon
    budget = Budget.from_config(cfg)
    assert 2000 <= cfg.train.batch_size <= 5000 and budget.epochs in (2, 3)
    assert budget.steps_per_env >= cfg.task.horizon


# ---- real sweeps (subprocesses, tiny budgets) -----------------------------------------------------

def test_joblib_sweep_resume_and_report_end_to_end(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    args = ["-m", "hydra/launcher=joblib", "+algo=lagrangian", "+task=point_circle", "seed=0,1",
            f"hydra.sweep.dir={sweep}"]  # two jobs, one per core (algorithms apart: test_new_algorithms)
    result = run_cli(*args, *TINY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    dirs = run_dirs(sweep)
    assert len(dirs) == 2  # never collide: task/algo/seed each
    for d in dirs:
        hydra_cfg = OmegaConf.load(d / ".hydra" / "hydra.yaml")
        assert hydra_cfg.hydra.launcher._target_.endswith("JoblibLauncher")
        assert json.loads((d / "summary.json").read_text())["status"] == "complete"
    assert "Joblib.Parallel(n_jobs=-1,backend=loky,prefer=processes" in result.stdout + result.stderr
    manifests = [json.loads((d / "manifest.json").read_text()) for d in dirs]
    assert all(m["update_threads"] == 1 and m["env_workers"] == 0 for m in manifests)  # one core per job
    before = {d: pd.read_csv(d / "progress.csv") for d in dirs}
    assert all(len(p) == 2 for p in before.values())

    # resume: the same command with resume=true and a larger budget continues every run by one update (with the
    # basic launcher, one process instead of three: resuming through joblib is test_experiment_resume.py's)
    extended = [a.replace("total_steps=2000", "total_steps=3000") for a in TINY]
    result = run_cli(*[a for a in args if a != "hydra/launcher=joblib"], *extended, "resume=true", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert run_dirs(sweep) == dirs
    for d in dirs:
        after = pd.read_csv(d / "progress.csv")
        assert after["env_steps"].tolist() == [1000, 2000, 3000]
        pd.testing.assert_frame_equal(after.iloc[:2], before[d])  # continued, not restarted

    from safebench.report.__main__ import main as report_main

    capsys.readouterr()
    assert report_main([str(sweep)]) == 0  # in this process: the command's own exit is tested in test_report.py
    printed = capsys.readouterr().out
    report = sweep / "report"
    summary = pd.read_csv(report / "summary.csv")
    assert sorted(summary["algo"]) == ["lagrangian"] and set(summary["n_seeds"]) == {2}
    for algo in ("lagrangian",):
        finals = [pd.read_csv(d / "progress.csv").iloc[-1] for d in dirs if f"/{algo}/" in str(d)]
        row = summary[summary["algo"] == algo].iloc[0]  # the last 10% of 3000 steps is the last update
        assert row["return_mean"] == pytest.approx(sum(f["return_mean"] for f in finals) / 2)
        assert row["cost_mean"] == pytest.approx(sum(f["cost_mean"] for f in finals) / 2)
        assert row["cost_limit"] == 5.0
    assert len(pd.read_csv(report / "curves.csv")) == 2 * 3
    for name in ("learning_curves.png", "learning_curves.pdf", "final_scatter.png", "summary.md", "summary.tex"):
        assert (report / name).stat().st_size > 0
        assert str(report / name) in printed


@pytest.mark.slow  # 7 s; the Figure 1 experiment runs by default
def test_fig3_experiment_runs_each_beta_in_its_own_directory(tmp_path):
    result = run_cli("-m", "+experiment=paper_fig3_penalty", "+budget=smoke",
                     "+algo_variant=fixed_penalty_beta1,fixed_penalty_beta50", "seed=0", *TINY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = (tmp_path / "results_runs" / "paper_fig3_penalty").iterdir()
    dirs = run_dirs(sweep)
    assert [d.relative_to(sweep).as_posix() for d in dirs] == [
        "point_circle/fixed_penalty_beta1/seed0", "point_circle/fixed_penalty_beta50/seed0"]
    config = OmegaConf.load(dirs[1] / ".hydra" / "config.yaml")
    assert config.algo.name == "fixed_penalty" and config.algo.beta == 50
    assert config.train.batch_size == 1000  # the command line beats the smoke budget
    from safebench.report.run_loading import load_runs

    assert sorted(run.algo for run in load_runs([sweep]).runs) == ["fixed_penalty(beta=1, cost_shaping)",
                                                                    "fixed_penalty(beta=50, cost_shaping)"]


def test_fig1_experiment_through_the_cli_with_a_task_subset(tmp_path):
    result = run_cli("-m", "+experiment=paper_fig1_point", "+budget=smoke", "+task=point_circle", "+algo=trpo",
                     "seed=1", *TINY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = (tmp_path / "results_runs" / "paper_fig1_point").iterdir()
    (run,) = run_dirs(sweep)
    config = OmegaConf.load(run / ".hydra" / "config.yaml")
    assert (config.task.name, config.algo.name, config.seed) == ("point_circle", "trpo", 1)
    assert len(pd.read_csv(run / "progress.csv")) == 2



@pytest.mark.parametrize("experiment,arms", [("paper_fig1_point", 3), ("paper_fig1_ant", 3), ("paper_fig3_penalty", 4)])
def test_paper_experiments_shape_the_cost_where_the_paper_did(experiment, arms):
    """Figure 1 constrained C+ (paper Sec. 8.1) on every task but Point-Gather, the fixed penalty weighs C+
    (Sec. 8.3); cost-blind TRPO builds no shaper."""
    from safebench.command_line import compose_config, sweep_jobs
    from safebench.trainer import build_algorithm

    jobs = [job for job in sweep_jobs([f"+experiment={experiment}"], multirun=True, config_name="config")
            if "seed=0" in job]
    assert len(jobs) == arms * len(EXPERIMENTS[experiment]["+task"].split(","))
    for job in jobs:
        cfg = compose_config(job, "config")
        assert cfg.algo.cost_shaping is (cfg.task.name != "point_gather"), job
        shaper = build_algorithm(cfg, obs_dim=3, act_dim=2).cost_shaper
        if cfg.algo.name == "trpo" or cfg.task.name == "point_gather":
            assert shaper is None
        else:  # the task's settings (the paper's Appendix 10.3.2 table)
            assert (shaper.horizon, shaper.coeff) == (cfg.task.cost_shaping.horizon, cfg.task.cost_shaping.coeff)

def test_cli_validates_every_job_of_an_experiment_before_running(tmp_path, capsys, monkeypatch):
    from helpers import run_cli_in_process

    monkeypatch.chdir(tmp_path)  # refused before Hydra starts: main() in this process
    result = run_cli_in_process("-m", "+experiment=paper_fig3_penalty", "+budget=smoke", "train.batch_size=10",
                                capsys=capsys)
    assert result.returncode == 2
    assert "smaller than one episode" in result.stderr and "+algo_variant=cpo" in result.stderr
    assert not (tmp_path / "results_runs").exists()


@pytest.mark.slow  # 12 s; the joblib launcher is tested by default
def test_submitit_local_launcher_runs_a_tiny_sweep(tmp_path):
    pytest.importorskip("submitit")
    sweep = tmp_path / "sweep"
    result = run_cli("-m", "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5", "+algo=trpo",
                     "+task=point_circle", "seed=0", *TINY, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = run_dirs(sweep)
    assert json.loads((run / "summary.json").read_text())["status"] == "complete"
    assert list((sweep / ".submitit").rglob("*_log.out"))  # it ran as a submitit job


@pytest.mark.slow  # 8 s; test_cli covers wandb failing to start
def test_wandb_offline_run_writes_its_files_in_the_run_directory(tmp_path):
    wandb_home = tmp_path / "wandb_home"
    env = {f"WANDB_{k}_DIR": str(wandb_home / k.lower()) for k in ("CONFIG", "CACHE", "DATA", "ARTIFACT")}
    run = tmp_path / "run"
    result = run_cli("+algo=trpo", "+task=point_circle", *TINY, "logger.wandb.mode=offline", f"hydra.run.dir={run}",
                     cwd=tmp_path, env=env | {"WANDB_SILENT": "true"})
    assert result.returncode == 0, result.stderr[-3000:]
    (offline,) = (run / "wandb").glob("offline-run-*")
    (records,) = offline.glob("run-*.wandb")
    data = records.read_bytes()
    for logged in (b"return_mean", b"cost_limit", b"point_circle/trpo", b"seed0"):  # rows, group, tag
        assert logged in data, logged
    assert not (tmp_path / "wandb").exists()  # nothing outside the run directory
    wandb = Path(sys.executable).parent / "wandb"
    sync = subprocess.run([str(wandb), "sync", "--dry-run", str(offline)], cwd=tmp_path, check=False,
                          capture_output=True, text=True, timeout=120, env=dict(os.environ, **env))
    assert sync.returncode == 0 and "Would sync 1 run" in sync.stdout + sync.stderr, sync.stdout + sync.stderr


def sweep_subdir_names_overrides() -> bool:
    """Whether conf/config.yaml puts the job's other overrides in the sweep subdir (asked for in issue 6)."""
    sweep = compose_config(["+algo=trpo", "+task=point_circle"]).hydra.sweep
    return "override_dirname" in str(OmegaConf.to_container(sweep))


@pytest.mark.skipif(not sweep_subdir_names_overrides(),
                    reason="needs hydra.sweep.subdir with ${hydra:job.override_dirname} in conf/config.yaml")
def test_hyperparameter_sweep_runs_apart_and_the_report_keeps_betas_apart(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_cli("-m", "+algo=fixed_penalty", "algo.beta=1,5", "+task=point_circle", "seed=0", *TINY,
                     f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    dirs = run_dirs(sweep)
    assert len(dirs) == 2 and all(d.name == "seed0" for d in dirs)
    assert sorted(OmegaConf.load(d / ".hydra" / "config.yaml").algo.beta for d in dirs) == [1, 5]
    assert any("algo.beta=5" in part for part in dirs[1].relative_to(sweep).parts)
    from safebench.report.run_loading import load_runs

    assert sorted(run.algo for run in load_runs([sweep]).runs) == ["fixed_penalty(beta=1)", "fixed_penalty(beta=5)"]


def resume_restarts_jobs_without_checkpoint() -> bool:
    """Whether safebench.cli lets resume=true start a sweep's never-checkpointed jobs (asked for in issue 6)."""
    import safebench.cli

    return "RunMode.MULTIRUN" in Path(safebench.cli.__file__).read_text()


@pytest.mark.slow  # 18 s; test_joblib_sweep_resume_and_report_end_to_end resumes a sweep
@pytest.mark.skipif(not resume_restarts_jobs_without_checkpoint(),
                    reason="needs safebench.cli.run to start a sweep job without checkpoint when resume=true")
def test_resuming_a_sweep_starts_the_jobs_that_never_checkpointed(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "+algo=trpo", "+task=point_circle", "seed=0,1", *TINY, f"hydra.sweep.dir={sweep}"]
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    kept, lost = run_dirs(sweep)
    (lost / "checkpoints" / "last.pt").unlink()
    (lost / "progress.csv").unlink()  # as if it had crashed before its first checkpoint
    before = pd.read_csv(kept / "progress.csv")
    result = run_cli(*args, "resume=true", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "starts from scratch" in result.stdout + result.stderr
    assert len(pd.read_csv(lost / "progress.csv")) == 2
    pd.testing.assert_frame_equal(pd.read_csv(kept / "progress.csv"), before)


@pytest.mark.parametrize("launcher", [pytest.param("basic", marks=pytest.mark.slow), "joblib",
                                      pytest.param("submitit_local", marks=pytest.mark.slow)])
def test_a_sweep_whose_jobs_fail_exits_1_and_lists_them(tmp_path, launcher):
    """NaN in every job (a huge multiplier step): the other jobs run, then the sweep exits 1 naming each."""
    if launcher == "submitit_local":
        pytest.importorskip("submitit")
    sweep = tmp_path / "sweep"
    result = run_cli("-m", f"hydra/launcher={launcher}", "+algo=lagrangian", "algo.lambda_lr=1e308",
                     "+task=point_circle", "seed=0,1", *TINY, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "2 job(s) of the sweep failed" in result.stderr and "Traceback" not in result.stderr
    failed = sorted(p.parent for p in sweep.rglob("failed.json"))
    assert len(failed) == 2 and all("NaN" in json.loads((d / "failed.json").read_text())["error"] for d in failed)
    for d in failed:
        assert str(d) in result.stderr
    if launcher != "basic":
        return
    again = run_cli("-m", f"hydra/launcher={launcher}", "+algo=lagrangian", "+task=point_circle", "seed=0", *TINY,
                    f"hydra.sweep.dir={sweep}", cwd=tmp_path)  # other jobs into the same sweep: old failures not listed
    assert again.returncode == 0, again.stderr[-3000:]


def test_all_algorithms_experiment_covers_every_on_policy_algorithm():
    from hydra.utils import get_class

    on_policy = {name for name in available("algo")
                 if not getattr(get_class(compose_config([f"+algo={name}", "+task=point_circle"]).algo._target_),
                                "learns_from_replay", False)}
    assert len(on_policy) >= 14
    assert set(EXPERIMENTS["all_algorithms"]["+algo"].split(",")) == on_policy


def test_a_sweep_directory_with_a_timestamp_on_the_command_line_is_pinned_to_the_one_checked():
    """The locked and reported folder is the one the jobs write to, whatever ${now:...} says a moment later."""
    from safebench.cli import pin_output

    argv = ["-m", "+algo=cpo", "hydra.sweep.dir=/tmp/sweeps/${now:%H-%M-%S-%f}"]
    assert pin_output(argv, True, Path("/tmp/sweeps/08-13-32-948206")) == [
        "-m", "+algo=cpo", "hydra.sweep.dir=/tmp/sweeps/08-13-32-948206"]
    assert pin_output(["-m", "hydra.sweep.dir=/fixed"], True, Path("/fixed")) == ["-m", "hydra.sweep.dir=/fixed"]
    assert pin_output(["+algo=cpo"], False, Path("/run")) == ["+algo=cpo", "hydra.run.dir=/run"]


def test_jobs_that_would_share_a_directory_are_refused_before_the_sweep(tmp_path, capsys, monkeypatch):
    """train.total_steps is left out of directory names (a resume may extend it): sweeping it would put two jobs in
    one directory, the second resuming the first's run."""
    from helpers import run_cli_in_process

    monkeypatch.chdir(tmp_path)
    result = run_cli_in_process("-m", "+algo=trpo", "+task=point_circle", *TINY[1:], "train.total_steps=2000,4000",
                                f"hydra.sweep.dir={tmp_path / 'sweep'}", capsys=capsys)
    message = " ".join(result.stderr.split())
    assert result.returncode == 2 and "differ only in train.total_steps=2000, train.total_steps=4000" in message
    assert not (tmp_path / "sweep").exists()


def test_the_directory_check_follows_the_sweeps_own_subdir():
    """paper_fig3_penalty names its runs task/variant/seed, without the other overrides: a key swept beside it
    would put two jobs in one directory, which the check reads from the experiment's hydra.sweep.subdir; keys that
    the default subdir spells out stay apart."""
    from safebench.command_line import check_distinct_directories, compose_config, job_subdir, sweep_jobs
    from safebench.errors import ConfigError

    def check(*overrides: str) -> list[str]:
        jobs = sweep_jobs(["+task=point_circle", *overrides], True, "config")
        configs = [compose_config(job) for job in jobs]
        check_distinct_directories(jobs, configs)
        return [job_subdir(cfg) for cfg in configs]

    with pytest.raises(ConfigError, match="differ only in algo.max_kl=0.01, algo.max_kl=0.02.*point_circle/cpo/seed0"):
        check("+experiment=paper_fig3_penalty", "+algo_variant=cpo", "seed=0", "algo.max_kl=0.01,0.02")
    assert check("+algo=cpo", "seed=0", "algo.max_kl=0.01,0.02") == ["point_circle/cpo/algo.max_kl=0.01/seed0",
                                                                     "point_circle/cpo/algo.max_kl=0.02/seed0"]


def test_experiments_run_seed_by_seed():
    """An experiment stopped part way (every session of a long one) holds whole seeds of every arm, which the
    report can compare: the launchers take jobs in order, and the order is task, then seed, then algorithm."""
    from safebench.command_line import sweep_jobs

    jobs = sweep_jobs(["+experiment=paper_fig1_ant", "+task=ant_circle"], True, "config")
    order = [tuple(next(o for o in job if o.startswith(key)) for key in ("seed=", "+algo=")) for job in jobs]
    assert order[:4] == [("seed=0", "+algo=cpo"), ("seed=0", "+algo=lagrangian"), ("seed=0", "+algo=trpo"),
                         ("seed=1", "+algo=cpo")] and len(order) == 30
    for name in EXPERIMENTS:
        params = list(compose_config([f"+experiment={name}"]).hydra.sweeper.params)
        assert params[:2] == ["+task", "seed"], name


def test_the_sweeps_closing_lines_name_a_job_whose_files_are_damaged(tmp_path):
    """A damaged summary.json makes its job's line say so; the other jobs are listed and no traceback ends the
    sweep after every job has run."""
    import time

    from safebench.cli import sweep_report

    started = time.time() - 1
    good, damaged = tmp_path / "job0", tmp_path / "job1"
    for run, seed in ((good, 0), (damaged, 1)):
        (run / ".hydra").mkdir(parents=True)
        (run / ".hydra" / "config.yaml").write_text(
            f"seed: {seed}\ntask: {{name: point_circle, cost_limit: 5.0}}\nalgo: {{name: cpo}}\n")
        (run / "progress.csv").write_text("epoch\n1\n")
    (good / "summary.json").write_text('{"final_return": 12.5, "final_cost": 4.0}')
    (damaged / "summary.json").write_text('{"final_return": 1')
    report = sweep_report(tmp_path, started)
    assert "point_circle/cpo/seed0: return 12.5, cost 4/5" in report
    assert f"{damaged}: its summary.json or .hydra/config.yaml cannot be read (JSONDecodeError)" in report
