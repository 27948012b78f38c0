"""experiments/: every results.md is rendered from the results.json beside it, specs resolve by name, and raw
benchmark output reaches MLflow as an artifact. Fast: no datasets, no device."""

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from experiments.benchmarks.render import RESULTS, fill, names, render
from tests.helpers import ROOT
from toolkit.errors import ConfigError

SPECS = sorted((ROOT / "experiments" / "specs").glob("*.yaml"))


@pytest.mark.parametrize("name", names())
def test_committed_results_md_is_rendered_from_its_json(name: str) -> None:
    committed = (RESULTS / name / "results.md").read_text(encoding="utf-8")
    assert render(name) == committed, (
        f"results.md is stale or edited by hand: python -m experiments.benchmarks.render {name}"
    )


def test_every_results_folder_has_its_json_and_the_raw_device_output_is_compressed() -> None:
    folders = sorted(path.name for path in RESULTS.iterdir() if path.is_dir())
    assert folders == names() and {"fnc1_transformer", "score", "transformer"} <= set(folders)
    raw = list((RESULTS / "transformer" / "raw").iterdir())
    assert raw and all(path.name.endswith(".json.gz") for path in raw)
    # figures only, not raw output: the largest is stance_general, confusion counts per held-out target and fold
    assert all(path.stat().st_size < 500_000 for path in RESULTS.glob("*/results.json")), "figures only, not raw output"


def test_placeholders_format_per_seed_values_and_name_what_is_missing() -> None:
    payload = {"extracted": {"run": {"f1": [0.5, 0.75], "docs": 1234.4}}, "issue": {"target": 0.7}}
    template = "{{run.f1|ms.2f}}; {{mean(run.f1) - issue.target|u+.3f}}; {{run.docs|,.0f}}; {{run.f1 * 2|each.1f}}"
    assert fill(template, payload) == "0.62 ± 0.18; −0.075; 1,234; 1.0 / 1.5"
    with pytest.raises(ValueError, match=r"placeholder '\{\{run.f2\|.3f\}\}'.*no figure 'f2'"):
        fill("{{run.f2|.3f}}", payload)


@pytest.mark.parametrize("spec", SPECS, ids=[path.stem for path in SPECS])
def test_every_spec_validates_and_matches_the_results_made_with_it(spec: Path) -> None:
    from toolkit.bench.spec import load_spec

    loaded = load_spec(spec)
    assert (ROOT / loaded.config).is_file() and loaded.settings, "each spec says how its settings were chosen"
    saved = RESULTS / loaded.name / "results.json"
    payload = json.loads(saved.read_text(encoding="utf-8"))
    if payload.get("kind") != "template":  # written by `toolkit experiment run`
        assert payload["spec"] == loaded.model_dump() and payload["spec_path"] == f"experiments/specs/{spec.name}"


def test_spec_names_resolve_to_experiments_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    from toolkit.bench.spec import load_spec, resolve_spec, results_folder

    monkeypatch.chdir(ROOT)
    named = Path("experiments/specs/ag_news.yaml")
    assert resolve_spec("ag_news") == resolve_spec("ag_news.yaml") == resolve_spec(str(named)) == named
    assert results_folder(load_spec("fnc1")) == Path("experiments/results/fnc1")
    with pytest.raises(ConfigError, match=r"experiment spec not found: nope; specs in experiments/specs/: .*ag_news"):
        resolve_spec("nope")


def test_an_explicit_output_folder_wins(tmp_path: Path) -> None:
    from toolkit.bench.spec import load_spec, results_folder

    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump({"name": "tiny", "config": "c.yaml", "output": str(tmp_path / "out")}))
    assert results_folder(load_spec(spec)) == tmp_path / "out"


@pytest.mark.slow  # an MLflow round trip of seconds: make test runs it, the inner loop leaves it out
def test_raw_output_is_logged_as_an_mlflow_artifact(store: Path) -> None:
    import mlflow

    from experiments.benchmarks.raw_output import log_raw_output

    raw = store / "gpu.json"
    raw.write_text('{"quality": {}}', encoding="utf-8")
    run_id = log_raw_output(raw, "bench-transformer-gpu", "transformer-gpu-speed", {"stages": "['speed']"})
    assert run_id is not None
    fetched = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="raw/gpu.json", dst_path=str(store / "x")
    )
    assert Path(fetched).read_text(encoding="utf-8") == raw.read_text(encoding="utf-8")
    assert mlflow.get_run(run_id).data.params == {"stages": "['speed']"}


def test_without_mlflow_the_raw_output_stays_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from experiments.benchmarks import raw_output

    real = importlib.util.find_spec
    monkeypatch.setattr(raw_output.importlib.util, "find_spec", lambda name: None if name == "mlflow" else real(name))
    assert raw_output.log_raw_output(tmp_path / "gpu.json", "bench", "run", {}) is None
    assert "mlflow is not installed here" in capsys.readouterr().out
