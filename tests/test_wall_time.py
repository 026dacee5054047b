"""``python -m safebench.wall_time``: a figure's sweep time from bench lines and the configs' budgets."""

import json

import pytest

from safebench.wall_time import main, sweep_of, task_budget


def bench_lines(task: str, rate: float, algo: str = "cpo", evaluation: float = 0.0) -> list[str]:
    common = {"task": task, "algo": algo, "commit": "abc"}
    return [json.dumps(common | {"figure": "raw_physics_steps_per_s", "value": 2 * rate, "cores": 2}),
            json.dumps(common | {"figure": "end_to_end_steps_per_s", "value": rate}),
            json.dumps(common | {"figure": "evaluation_fraction_of_wall_time", "value": evaluation})]


def test_figure_1_sweeps_are_read_from_the_configs():
    assert sweep_of("paper_fig1_point") == {"task": ["point_circle", "point_gather"],
                                            "algo": ["cpo", "lagrangian", "trpo"], "seed": ["0", "1", "2", "3", "4"]}
    assert task_budget("ant_circle") == 100 * 100_000 and task_budget("humanoid_circle") == 100 * 50_000


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
    assert rows["point_circle", "cpo"]["value"] == pytest.approx(circle / 50_000 / 3600)
    assert rows["point_circle", "lagrangian"]["rate_of_algo"] == "cpo"  # no bench line of its own
    assert rows["point_circle", "trpo"]["value"] == pytest.approx(circle / 10_000 / 3600)
    gather = rows["point_gather", "cpo"]
    assert gather["runs"] == 2 and gather["bench_runs"] == 2
    assert gather["value"] == pytest.approx(2 * 5_000_000 / 20_000 / 0.5 / 3600)  # evaluation takes half the time
    experiment, total = out[-2], out[-1]
    assert experiment["value"] == pytest.approx(sum(row["value"] for row in rows.values()))
    assert total["value"] == pytest.approx(experiment["value"]) and total["days"] == pytest.approx(total["value"] / 24)


def test_a_task_without_bench_lines_is_named(tmp_path):
    path = tmp_path / "bench.jsonl"
    path.write_text("\n".join(bench_lines("point_circle", 50_000.0)))
    with pytest.raises(SystemExit, match="point_gather"):
        main([str(path), "--experiment", "paper_fig1_point"])
