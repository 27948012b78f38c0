"""What long jobs show while they run: on a terminal, bars for epochs, batches and trials with an ETA; in a
pipe, only the logged lines; and a score rerun that had nothing to do says the job was already complete."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console
from typer.testing import CliRunner

from tests.helpers import STANCE, make_rows, tiny_transformer_params, write_csv
from toolkit.cli.progress import JobProgress, job_progress
from toolkit.data.types import report_step


def terminal() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=100, log_path=False)


def shown(display: JobProgress) -> str:
    """The live display as text, as a terminal would show it at this moment."""
    console = Console(file=io.StringIO(), width=100, record=True)
    console.print(display)
    return console.export_text()


class Recorder:
    """A progress callback that counts, like the CLI's, and records what it is told."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.steps: list[tuple[str, int, int | None]] = []

    def __call__(self, message: str) -> None:
        self.lines.append(message)

    def step(self, unit: str, done: int, total: int | None) -> None:
        self.steps.append((unit, done, total))


def test_a_terminal_shows_the_current_step_and_a_bar_per_counted_unit_with_eta() -> None:
    with job_progress(False, terminal()) as display:
        display("training transformer on 100 rows")
        display.step("epoch", 1, 3)
        display.step("batch", 5, 10)
        text = shown(display)
        epoch = display.bars.tasks[display.rows["epoch"].task]
    assert "training transformer on 100 rows" in text
    assert [line.split()[0] for line in text.splitlines()[1:3]] == ["epoch", "batch"]
    assert "1/3" in text and "5/10" in text and text.count("ETA") == 2
    assert epoch.completed == pytest.approx(1.5), "the epoch bar moves with its batches, so its ETA does too"


def test_the_next_epoch_starts_its_batches_again_and_bars_never_go_back() -> None:
    display = JobProgress(terminal(), live=True)
    seen = []
    for epoch in (1, 2):
        display.step("epoch", epoch - 1, 2)
        for batch in range(1, 5):
            display.step("batch", batch, 4)
            seen.append(display.bars.tasks[display.rows["epoch"].task].completed)
        display.step("epoch", epoch, 2)
        seen.append(display.bars.tasks[display.rows["epoch"].task].completed)
    assert seen == sorted(seen) and seen[-1] == 2
    assert "4/4" in shown(display) and "2/2" in shown(display)


def test_a_pipe_gets_the_logged_lines_only() -> None:
    console = Console(file=io.StringIO(), width=100, log_path=False)
    with job_progress(False, console) as display:
        display("trial 0: validation_macro_f1=0.5000")
        report_step(display, "trial", 1, 5)
    written = console.file.getvalue()
    assert "trial 0: validation_macro_f1=0.5000" in written
    assert "ETA" not in written and "━" not in written and "\x1b" not in written


def test_quiet_shows_nothing_and_a_plain_callback_ignores_counts() -> None:
    with job_progress(True, terminal()) as display:
        assert display is None
        report_step(display, "epoch", 1, 2)  # no display: nothing to tell
    lines: list[str] = []
    report_step(lines.append, "epoch", 1, 2)
    assert lines == []


def test_tune_counts_its_trials(tmp_path: Path) -> None:
    from toolkit.lifecycle.tune import run_trials

    class Study:
        best_trials: list = []

        def optimize(self, objective, n_trials, callbacks) -> None:  # trials that finished without training
            for _ in range(n_trials):
                for callback in callbacks:
                    callback(self, None)

    recorder = Recorder()
    run_trials(Study(), None, None, 3, "parent", "name", tmp_path, recorder)
    assert recorder.steps == [("trial", 0, 3), ("trial", 1, 3), ("trial", 2, 3), ("trial", 3, 3)]


def test_transformer_training_counts_epochs_and_batches() -> None:
    pytest.importorskip("transformers")
    from toolkit.backends.transformer.model import TransformerBackend, TransformerParams

    recorder = Recorder()
    params = TransformerParams(**tiny_transformer_params(epochs=1, batch_size=4))
    TransformerBackend(params, "stance").fit(STANCE, None, recorder)
    batches = [step for step in recorder.steps if step[0] == "batch"]
    per_epoch = -(-len(STANCE) // 4)
    assert recorder.steps == [
        ("epoch", 0, 1),
        *(("batch", n, per_epoch) for n in range(1, per_epoch + 1)),
        ("epoch", 1, 1),
    ]
    assert len(batches) == per_epoch > 1
    assert any(line.startswith("epoch 1/1") for line in recorder.lines), "the logged lines stay"


# --- score: a rerun that had nothing to do -----------------------------------------------------------------


def summary(**fields: object) -> SimpleNamespace:
    base = {"rows_in": 510, "scored": 510, "errors": 0, "seconds": 0.2, "rows_per_second": 0.0, "chunks": 3}
    return SimpleNamespace(**{**base, "chunks_resumed": 3, "workers": 1, "engine": "local", **fields})


def test_score_line_says_a_finished_job_was_already_complete() -> None:
    from toolkit.cli.display import score_line

    line = score_line(summary())
    assert "already complete" in line and "510 rows in: 510 scored + 0 errors" in line and "rows/s" not in line
    partial = score_line(summary(chunks_resumed=1, rows_per_second=1700.0))
    assert "already complete" not in partial and "1,700 rows/s" in partial and "1 resumed" in partial


def test_score_rerun_of_a_finished_job_says_so(tmp_path: Path) -> None:
    from tests.reliability.reliability_helpers import fit_model_folder
    from toolkit.cli import app

    model = fit_model_folder(tmp_path / "model", "topic")
    source = write_csv(tmp_path / "in.csv", make_rows(30))
    args = ["score", str(source), "-m", str(model), "-o", str(tmp_path / "out"), "--workers", "1", "--chunk-size", "10"]
    first = CliRunner().invoke(app, args, prog_name="toolkit")
    again = CliRunner().invoke(app, args, prog_name="toolkit")
    assert first.exit_code == again.exit_code == 0, first.output + again.output
    assert "already complete" not in first.stdout and "rows/s" in first.stdout
    assert "already complete, nothing to score: 30 rows in: 30 scored + 0 errors" in again.stdout
    assert "0 rows/s" not in again.stdout
