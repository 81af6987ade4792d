"""The one-page markdown report a reviewer reads: metrics per model, then the figures.

It shows the current run only: its bytes depend on the stage's declared inputs and nothing else (no git
history, no clock). Comparisons with another revision are `make compare`, `dvc metrics diff` and `make pr-report`.
"""

from __future__ import annotations

FIGURE_SECTIONS = (
    ("Confusion matrices", "confusion"),
    ("Most confident mistakes", "misclassified"),
    ("Sample predictions", "samples"),
)


def render_report(metrics: dict, model_names: tuple[str, ...], figures_dir: str) -> str:
    """Markdown: a metrics table and the figures.

    Args:
        metrics: ``reports/metrics.json`` as a dict, model name to its metrics.
        model_names: the models to report, in order.
        figures_dir: the figures' folder relative to the report, for the image links.
    """
    lines = [
        "# MNIST pipeline report",
        "",
        "Test set: 10,000 digits; the interval is a 95% Wilson interval. Validation accuracy is on the digits "
        "held out of training, the only accuracy tuning may choose by. ECE: expected calibration error "
        "(15 bins). Sure answers: those at or above the confidence chosen on the validation digits "
        "(`mnist-predict` calls the others \"not sure\"), and how many of them are right. To test whether a "
        "change is real: `make compare BASE=<rev>`.",
        "",
        "| model | test accuracy | 95% interval | validation accuracy | macro F1 | log loss | ECE | sure answers |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in model_names:
        m = metrics[name]
        lines.append(f"| {name} | {m['accuracy']:.2%} | {m['accuracy_ci95_low']:.2%} to {m['accuracy_ci95_high']:.2%} "
                     f"| {m['val_accuracy']:.2%} | {m['f1_macro']:.4f} | {m['log_loss']:.4f} | {m['ece']:.4f} "
                     f"| {m['sure_share']:.2%} ({m['sure_accuracy']:.2%} right) |")
    lines += ["", "## Training curves", "", f"![nn training curves]({figures_dir}/training_curves_nn.png)", "",
              "## Calibration", "", f"![reliability diagrams]({figures_dir}/reliability.png)", ""]
    for title, prefix in FIGURE_SECTIONS:
        lines += [f"## {title}", ""]
        lines += [f"![{name}: {title.lower()}]({figures_dir}/{prefix}_{name}.png)" for name in model_names]
        lines.append("")
    return "\n".join(lines)
