"""``python -m safebench.wall_time``: a figure's sweep time from bench lines and the configs' budgets."""

import json

import pytest

from safebench.wall_time import experiment_jobs, main


def bench_lines(task: str, rate: float, algo: str = "cpo", evaluation: float = 0.0) -> list[str]:
    common = {"task": task, "algo": algo, "commit": "abc"}
    return [json.dumps(common | {"figure": "raw_physics_steps_per_s", "value": 2 * rate, "cores": 2}),
            json.dumps(common | {"figure": "end_to_end_steps_per_s", "value": rate}),
            json.dumps(common | {"figure": "evaluation_fraction_of_wall_time", "value": evaluation})]


def test_experiments_are_read_as_their_sweeps_compose_them():
    """Each job's budget as the sweep composes it: the task's for Figure 1, the experiment's own for the off-policy
    comparison (300k env steps), and every fixed-penalty arm apart."""
    point = experiment_jobs("paper_fig1_point")
    # the paper's Figure 1 shaped the cost of CPO and PDO on Point-Circle, not on Point-Gather
    assert sorted(point) == [("point_circle", "cpo(cost_shaping)"), ("point_circle", "lagrangian(cost_shaping)"),
                             ("point_circle", "trpo"), ("point_gather", "cpo"), ("point_gather", "lagrangian"),
                             ("point_gather", "trpo")]
    assert all(jobs["budgets"] == [100 * 50_000] * 5 for jobs in point.values())
    off = experiment_jobs("off_policy")
    assert off["point_circle", "sac_lagrangian"]["budgets"] == [300_000] * 3
    assert off["point_circle", "cpo"]["budgets"] == [100 * 50_000] * 3
    penalty = experiment_jobs("paper_fig3_penalty")
    assert penalty["point_circle", "fixed_penalty(beta=5, cost_shaping)"]["algo"] == "fixed_penalty" and len(penalty) == 4


def test_an_unknown_experiment_is_one_message(tmp_path, capsys):
    path = tmp_path / "bench.jsonl"
    path.write_text("\n".join(bench_lines("point_circle", 50_000.0)))
    with pytest.raises(SystemExit) as exit_:
        main([str(path), "--experiment", "paper_fig1_pont"])
    assert exit_.value.code == 2 and "unknown experiment paper_fig1_pont" in capsys.readouterr().err


def test_wall_time_is_steps_over_the_end_to_end_rate(tmp_path, capsys):
    lines = (bench_lines("point_circle", 50_000.0) + bench_lines("point_gather", 25_000.0, evaluation=0.5)
             + bench_lines("point_gather", 15_000.0, evaluation=0.5)  # a second bench run: averaged
             + bench_lines("point_circle", 10_000.0, algo="trpo"))
    path = tmp_path / "bench.jsonl"
    path.write_text("\n".join(["not json"] + lines) + "\n")
    main([str(path), "--experiment", "paper_fig1_point", "--seeds", "point_gather=2"])
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    rows = {(row["task"], row["algo"]): row for row in out if "task" in row}
    assert len(rows) == 6
    circle = 5 * 5_000_000
    # shaped arms (the paper's Figure 1 on Point-Circle) take their algorithm's bench line
    assert rows["point_circle", "cpo(cost_shaping)"]["value"] == pytest.approx(circle / 50_000 / 3600)
    assert rows["point_circle", "lagrangian(cost_shaping)"]["rate_of_algo"] == "cpo"  # no bench line of its own
    assert rows["point_circle", "trpo"]["value"] == pytest.approx(circle / 10_000 / 3600)
    gather = rows["point_gather", "cpo"]
    assert gather["runs"] == 2 and gather["bench_runs"] == 2
    assert gather["value"] == pytest.approx(2 * 5_000_000 / 20_000 / 0.5 / 3600)  # evaluation takes half the time
    experiment, total = out[-2], out[-1]
    assert experiment["value"] == pytest.approx(sum(row["value"] for row in rows.values()))
    assert total["value"] == pytest.approx(experiment["value"]) and total["days"] == pytest.approx(total["value"] / 24)


def test_a_task_without_bench_lines_is_named(tmp_path, capsys):
    path = tmp_path / "bench.jsonl"
    path.write_text("\n".join(bench_lines("point_circle", 50_000.0)))
    with pytest.raises(SystemExit) as exit_:
        main([str(path), "--experiment", "paper_fig1_point"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "task point_gather" in err and "python -m safebench.bench" in err
    with pytest.raises(SystemExit) as exit_:  # a bench file that is not there: the same kind of message
        main([str(tmp_path / "missing.jsonl")])
    assert exit_.value.code == 2 and "cannot read" in capsys.readouterr().err


def test_an_impossible_bench_value_or_a_binary_file_is_one_message(tmp_path, capsys):
    common = {"task": "point_circle", "algo": "cpo", "commit": "abc"}
    for figure, value in (("end_to_end_steps_per_s", 0), ("end_to_end_steps_per_s", "fast"),
                          ("evaluation_fraction_of_wall_time", 1.0)):
        path = tmp_path / "bench.jsonl"
        path.write_text(json.dumps(common | {"figure": figure, "value": value}) + "\n")
        with pytest.raises(SystemExit) as exit_:
            main([str(path), "--experiment", "paper_fig1_point"])
        assert exit_.value.code == 2 and "is not a possible" in capsys.readouterr().err
    (tmp_path / "bench.bin").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path / "bench.bin")])
    assert exit_.value.code == 2 and "not a text file" in capsys.readouterr().err


@pytest.mark.parametrize("damaged", ['{"task": "point_circle", "al', '{"value": 3}'])
def test_a_cut_off_or_foreign_bench_line_is_one_message(tmp_path, capsys, damaged):
    path = tmp_path / "bench.jsonl"
    path.write_text("\n".join([*bench_lines("point_circle", 50_000.0), damaged]))
    with pytest.raises(SystemExit) as exit_:
        main([str(path), "--experiment", "paper_fig1_point"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "not a complete line of python -m safebench.bench" in err and damaged in err


def test_off_policy_algorithms_never_take_cpos_rate(tmp_path, capsys):
    """Their gradient steps are nearly all of their time: their own rate on another task, else a clear refusal."""
    lines = (bench_lines("point_circle", 20_000.0) + bench_lines("point_gather", 20_000.0)
             + bench_lines("point_circle", 80.0, algo="sac_lagrangian")
             + [line for task in ("point_circle", "point_gather")
                for line in bench_lines(task, 1_000.0, algo="ppo_lagrangian")])
    path = tmp_path / "bench.jsonl"
    path.write_text("\n".join(lines))
    with pytest.raises(SystemExit) as exit_:
        main([str(path), "--experiment", "off_policy"])
    assert exit_.value.code == 2 and "td3_lagrangian" in capsys.readouterr().err
    lines += bench_lines("point_circle", 90.0, algo="td3_lagrangian") + bench_lines("point_circle", 95.0,
                                                                                     algo="ddpg_lagrangian")
    path.write_text("\n".join(lines))
    main([str(path), "--experiment", "off_policy"])
    rows = {(r["task"], r["algo"]): r for r in map(json.loads, capsys.readouterr().out.splitlines()) if "task" in r}
    gather = rows["point_gather", "sac_lagrangian"]
    assert gather["rate_of_algo"] == "sac_lagrangian on point_circle" and gather["runs"] == 3
    assert gather["value"] == pytest.approx(3 * 300_000 / 80.0 / 3600)
    assert rows["point_gather", "ppo_lagrangian"]["rate_of_algo"] == "ppo_lagrangian"


def test_only_trust_region_algorithms_take_cpos_rate(tmp_path, capsys):
    """TRPO's update costs about CPO's; PPO-Lagrangian's epochs of minibatch steps can cost 20 times the sampling,
    so its estimate needs a bench line of its own."""
    path = tmp_path / "bench.jsonl"
    path.write_text("\n".join(bench_lines("point_circle", 20_000.0) + bench_lines("point_gather", 20_000.0)))
    with pytest.raises(SystemExit) as exit_:
        main([str(path), "--experiment", "all_algorithms"])
    err = " ".join(capsys.readouterr().err.split())
    assert exit_.value.code == 2 and "+algo=cup" in err and "or +algo=cpo" not in err  # the first first-order one
    lines = bench_lines("point_circle", 20_000.0) + bench_lines("point_gather", 20_000.0)
    first_order = ["cup", "focops", "ipo", "p3o", "pid_lagrangian", "ppo_lagrangian", "rcpo", "saute"]
    for algo in first_order:
        lines += bench_lines("point_circle", 1_000.0, algo=algo) + bench_lines("point_gather", 1_000.0, algo=algo)
    path.write_text("\n".join(lines))
    main([str(path), "--experiment", "all_algorithms"])
    rows = {(r["task"], r["algo"]): r for r in map(json.loads, capsys.readouterr().out.splitlines()) if "task" in r}
    assert {algo for (task, algo), row in rows.items() if row["rate_of_algo"] == "cpo"} == {
        "cpo", "crpo", "fixed_penalty(beta=1)", "lagrangian", "pcpo", "trpo"}
    assert all(rows[task, algo]["rate_of_algo"] == algo for task in ("point_circle", "point_gather")
               for algo in first_order)
