"""The run's CSV log across resumes: earlier rows kept, rows after the checkpoint dropped,
and a resume killed while restoring the log loses nothing."""

import csv

from seqbench.training.csv_log import ResumableCSVLogger

HEADER = ["epoch", "step", "train/loss"]


def _write(path, steps):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows([0, s, s / 10] for s in steps)


def _steps(run_dir):
    with open(run_dir / "logs" / "metrics.csv", newline="") as f:
        return [int(r["step"]) for r in csv.DictReader(f)]


def _resume(run_dir, at_step, new_rows=()):
    logger = ResumableCSVLogger(run_dir, resumed_at_step=at_step)
    for step in new_rows:
        logger.log_metrics({"train/loss": 0.5, "epoch": 1}, step=step)
    logger.save()
    return logger


def test_a_resume_keeps_the_rows_before_its_checkpoint_and_appends(tmp_path):
    _write(tmp_path / "logs" / "metrics.csv", [9, 19, 29, 39])
    _resume(tmp_path, 30, new_rows=[30, 39, 49])  # rows 30-39 were logged after the checkpoint
    assert _steps(tmp_path) == [9, 19, 29, 30, 39, 49]


def test_a_new_metric_after_the_resume_widens_the_header_and_keeps_the_rows(tmp_path):
    _write(tmp_path / "logs" / "metrics.csv", [9, 19])
    logger = ResumableCSVLogger(tmp_path, resumed_at_step=20)
    logger.log_metrics({"valid/mse": 0.25, "epoch": 1}, step=29)
    logger.save()
    with open(tmp_path / "logs" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows] == ["9", "19", "29"] and rows[-1]["valid/mse"] == "0.25"
    assert rows[0]["train/loss"] == "0.9"


def test_a_fresh_run_starts_a_new_log(tmp_path):
    _write(tmp_path / "logs" / "metrics.csv", [9, 19])
    _resume(tmp_path, None, new_rows=[9])
    assert _steps(tmp_path) == [9]


def test_a_resume_killed_while_restoring_the_log_loses_nothing(tmp_path):
    # killed after setting the old log aside, before writing it back: the next resume finds it there
    _write(tmp_path / "logs" / ".metrics.before-resume.csv", [9, 19, 29])
    _resume(tmp_path, 20, new_rows=[29])
    assert _steps(tmp_path) == [9, 19, 29]
    assert not (tmp_path / "logs" / ".metrics.before-resume.csv").exists()
    # killed after writing it back, before removing the copy: the written log is the newer one
    _write(tmp_path / "logs" / ".metrics.before-resume.csv", [9])
    _resume(tmp_path, 30, new_rows=[39])
    assert _steps(tmp_path) == [9, 19, 29, 39]
