"""Stage visualize: sample predictions, misclassified digits, confusion matrices and training curves as PNGs,
and reports/report.md, the one-page summary for a pull request."""

import json

from mnist_pipeline import figures
from mnist_pipeline.artifacts import atomic_path, load_arrays, load_training_history, write_text
from mnist_pipeline.cli import run_stage
from mnist_pipeline.metrics import confusion_matrix, parse_predictions_csv
from mnist_pipeline.params import load_section
from mnist_pipeline.paths import (
    FIGURES_DIR,
    METRICS,
    MODEL_NAMES,
    NN_TRAINING_LOG,
    PARAMS,
    PROCESSED_DATA,
    REPORT,
    predictions_file,
)
from mnist_pipeline.report import render_report


def main() -> None:
    params = load_section(PARAMS, "visualize", figures.VisualizeParams)
    x_test = load_arrays(PROCESSED_DATA)["x_test"]
    plots = {"training_curves_nn.png": figures.training_curves(load_training_history(NN_TRAINING_LOG), "nn")}
    for name in MODEL_NAMES:
        actual, predicted, confidence = parse_predictions_csv(predictions_file(name).read_text())
        plots[f"confusion_{name}.png"] = figures.confusion_heatmap(confusion_matrix(actual, predicted), name)
        shown = figures.pick_samples(len(actual), params.n_samples, params.seed)
        plots[f"samples_{name}.png"] = figures.sample_predictions(
            x_test[shown], actual[shown], predicted[shown], confidence[shown], name)
        errors = figures.most_confident_errors(actual, predicted, confidence, params.n_misclassified)
        plots[f"misclassified_{name}.png"] = figures.misclassified_gallery(
            x_test[errors], actual[errors], predicted[errors], confidence[errors], name,
            total_errors=int((actual != predicted).sum()))
    with atomic_path(FIGURES_DIR) as figures_dir:
        figures_dir.mkdir()
        for filename, figure in plots.items():
            figure.savefig(figures_dir / filename, dpi=params.dpi, metadata=figures.PNG_METADATA)
    figures_link = FIGURES_DIR.relative_to(REPORT.parent).as_posix()
    write_text(REPORT, render_report(json.loads(METRICS.read_text()), MODEL_NAMES, figures_link))


if __name__ == "__main__":
    run_stage(main)
