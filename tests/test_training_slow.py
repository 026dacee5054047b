"""Long training checks (``pytest -m slow``): the algorithms learn on real tasks."""

import pandas as pd
import pytest
from helpers import run_cli


@pytest.mark.slow
def test_trpo_improves_point_circle_return_within_ten_updates(tmp_path):
    run_dir = tmp_path / "trpo"
    result = run_cli("+algo=trpo", "+task=point_circle", "train.batch_size=10000", "train.total_steps=100000",
                     f"hydra.run.dir={run_dir}", cwd=tmp_path, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    progress = pd.read_csv(run_dir / "progress.csv")
    first, last = progress.return_mean.iloc[:3].mean(), progress.return_mean.iloc[-3:].mean()
    assert last >= first + 0.75, (first, last)
