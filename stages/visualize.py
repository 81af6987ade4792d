"""Stage visualize: sample predictions, misclassified digits, confusion matrices and training curves as PNGs,
and reports/report.md, the one-page summary for a pull request."""

if not __package__:  # run as a file, the stage would skip stages/__init__.py: its checks and its kernel pins
    raise SystemExit("ERROR: run this stage as `python -m stages.visualize` in the project root, or run `dvc repro`")

from pathlib import Path

from mnist_pipeline import figures
from mnist_pipeline.artifacts import atomic_path, load_arrays, load_json, load_training_history, write_text
from mnist_pipeline.calibration import read_calibration
from mnist_pipeline.params import load_section
from mnist_pipeline.paths import (
    FIGURES_DIR,
    METRICS,
    MODEL_NAMES,
    NN_TRAINING_LOG,
    PARAMS,
    PROCESSED_DATA,
    REPORT,
    calibration_file,
    predictions_file,
)
from mnist_pipeline.predictions import confusion_matrix, read_predictions
from mnist_pipeline.report import render_report
from mnist_pipeline.stage_runner import run_stage


def main(root: Path = Path()) -> None:
    """Draw in the project folder ``root`` (DVC runs each stage in the project root)."""
    params = load_section(root / PARAMS, "visualize", figures.VisualizeParams)
    x_test = load_arrays(root / PROCESSED_DATA)["x_test"]
    metrics = load_json(root / METRICS)
    plots = {"training_curves_nn.png": figures.training_curves(load_training_history(root / NN_TRAINING_LOG), "nn")}
    reliability = {}
    for name in MODEL_NAMES:
        csv = root / predictions_file(name)
        predictions = read_predictions(csv.read_text(), source=csv)
        actual, predicted, confidence = (predictions[column].to_numpy() for column in predictions.columns)
        plots[f"confusion_{name}.png"] = figures.confusion_heatmap(confusion_matrix(actual, predicted), name)
        shown = figures.pick_samples(len(actual), params.n_samples, params.seed)
        plots[f"samples_{name}.png"] = figures.sample_predictions(
            x_test[shown], actual[shown], predicted[shown], confidence[shown], name)
        errors = figures.most_confident_errors(actual, predicted, confidence, params.n_misclassified)
        plots[f"misclassified_{name}.png"] = figures.misclassified_gallery(
            x_test[errors], actual[errors], predicted[errors], confidence[errors], name,
            total_errors=int((actual != predicted).sum()))
        table = root / calibration_file(name)
        reliability[name] = read_calibration(table.read_text(), source=table)
    plots["reliability.png"] = figures.reliability_diagram(
        reliability, {name: metrics[name]["ece"] for name in MODEL_NAMES})
    with atomic_path(root / FIGURES_DIR) as figures_dir:
        figures_dir.mkdir()
        for filename, figure in plots.items():
            figure.savefig(figures_dir / filename, dpi=params.dpi, metadata=figures.PNG_METADATA)
    figures_link = FIGURES_DIR.relative_to(REPORT.parent).as_posix()
    write_text(root / REPORT, render_report(metrics, MODEL_NAMES, figures_link))


if __name__ == "__main__":
    run_stage(main)
