"""The one-page markdown report a reviewer reads: metrics per model, then the figures."""

from __future__ import annotations

FIGURE_SECTIONS = (
    ("Confusion matrices", "confusion"),
    ("Most confident mistakes", "misclassified"),
    ("Sample predictions", "samples"),
)


def _change(new: float, old: float | None) -> str:
    if old is None:
        return "—"
    return "no change" if new == old else f"{new - old:+.4f}"


def render_report(metrics: dict, baseline: dict | None, model_names: tuple[str, ...], figures_dir: str,
                  baseline_label: str = "HEAD") -> str:
    """Markdown: a metrics table (with the change against ``baseline`` when given) and the figures.

    Args:
        metrics: ``reports/metrics.json`` as a dict, model name to its metrics.
        baseline: the same structure from an earlier revision, or None when there is none.
        model_names: the models to report, in order.
        figures_dir: the figures' folder relative to the report, for the image links.
        baseline_label: what the baseline is, for the column heading.
    """
    baseline = baseline or {}
    lines = [
        "# MNIST pipeline report",
        "",
        "Test set: 10,000 digits. Change: against the metrics committed at "
        f"{baseline_label}{'' if baseline else ' (none found)'}.",
        "",
        f"| model | accuracy | change vs {baseline_label} | macro F1 | log loss |",
        "|---|---|---|---|---|",
    ]
    for name in model_names:
        current, old = metrics[name], baseline.get(name, {})
        lines.append(f"| {name} | {current['accuracy']:.2%} | {_change(current['accuracy'], old.get('accuracy'))} "
                     f"| {current['f1_macro']:.4f} | {current['log_loss']:.4f} |")
    lines += ["", "## Training curves", "", f"![nn training curves]({figures_dir}/training_curves_nn.png)", ""]
    for title, prefix in FIGURE_SECTIONS:
        lines += [f"## {title}", ""]
        lines += [f"![{name}: {title.lower()}]({figures_dir}/{prefix}_{name}.png)" for name in model_names]
        lines.append("")
    return "\n".join(lines)
