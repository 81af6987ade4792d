"""The one-page markdown report a reviewer reads: metrics per model, then the figures.

It shows the current run only: its bytes depend on the stage's declared inputs and nothing else (no git
history, no clock). Comparisons with another revision are `dvc metrics diff` and `make pr-report`.
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
        "Test set: 10,000 digits. To compare with another revision: `dvc metrics diff <rev>` or "
        "`make pr-report BASE=<rev>`.",
        "",
        "| model | accuracy | macro F1 | log loss |",
        "|---|---|---|---|",
    ]
    for name in model_names:
        current = metrics[name]
        lines.append(f"| {name} | {current['accuracy']:.2%} | {current['f1_macro']:.4f} | {current['log_loss']:.4f} |")
    lines += ["", "## Training curves", "", f"![nn training curves]({figures_dir}/training_curves_nn.png)", ""]
    for title, prefix in FIGURE_SECTIONS:
        lines += [f"## {title}", ""]
        lines += [f"![{name}: {title.lower()}]({figures_dir}/{prefix}_{name}.png)" for name in model_names]
        lines.append("")
    return "\n".join(lines)
