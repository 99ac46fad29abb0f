"""Every figure type drawn with long labels reads at a glance: legends off the axes, no title or
tick label on another (matplotlib's bounding boxes as drawn), no offset on a performance axis;
and groups compared by name are labelled by what tells them apart."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from analysis.fake_runs import fake_language_run, fake_run
from analysis.figure_checks import assert_reads_cleanly, drawn  # noqa: F401 (a fixture)
from balora.analysis import plots
from balora.analysis.collect import RunGroup, groups_from_names, load_run
from balora.analysis.compare import compare, rank_title
from balora.analysis.sweeps import curve_peak, peak_values, sweep_figure, sweep_families
from balora.memory.finder import BatchSearch
from balora.memory.plot import memory_plot

LONG_MODULES = ["query+key+value+attention.output.dense", "query+value", "intermediate.dense+output.dense"]
# Where the rendered figures are kept for a person to look at (BALORA_FIGURES_DIR=/some/folder).
KEEP = os.environ.get("BALORA_FIGURES_DIR")


def out(tmp_path: Path, name: str) -> Path:
    return Path(KEEP) / name if KEEP else tmp_path / name


def long_label_runs(results_dir: Path) -> list[str]:
    names = []
    for i, modules in enumerate(LONG_MODULES):
        for seed in (42, 43):
            names.append(fake_run(results_dir, f"lora-{i}-s{seed}", "lora", seed, 0.80 + 0.01 * i + seed / 10_000,
                                  lora_r=8 * (i + 1), lora_alpha=16 * (i + 1), lora_target_modules=modules.split("+"),
                                  model_name_or_path="/home/someone/models/sentence-transformers/all-MiniLM-L6-v2"
                                  ).name)
    names.append(fake_run(results_dir, "ba-s42", "ba_lora", 42, 0.8002, param_budget=73728).name)
    names.append(fake_run(results_dir, "ada-s42", "adalora", 42, 0.8, param_budget=73728).name)
    names.append(fake_run(results_dir, "ag-s42", "lora", 42, 0.9, dataset="ag_news", lora_r=8, lora_alpha=16,
                          lora_target_modules=["query", "key", "value", "attention.output.dense"], max_length=256,
                          model_name_or_path="/home/someone/models/sentence-transformers/all-MiniLM-L6-v2").name)
    return names


def test_group_labels_name_only_what_differs_on_the_same_data(tmp_path):
    names = long_label_runs(tmp_path)
    labels = {g.runs[0].name: g.label for g in groups_from_names(tmp_path, names)}
    # max_length differs only with the dataset (which the table and figures show already): no label needs it.
    assert labels["lora-0-s42"] == ("lora (lora_alpha=16, lora_r=8, "
                                    "lora_target_modules=query+key+value+attention.output.dense)")
    assert labels["ag-s42"] == labels["lora-0-s42"]
    assert labels["ba-s42"] == "ba_lora"


def test_compare_figures_with_long_labels_keep_legends_and_labels_apart(tmp_path, drawn):
    names = long_label_runs(tmp_path / "runs")
    written = compare(groups_from_names(tmp_path / "runs", names), out(tmp_path, "compare"), say=lambda line: None)
    assert {p.name for p in written if p.suffix == ".png"} == {"performance_plot.png", "training_curves.png",
                                                               "confusion_matrices.png"}
    assert len(drawn) == 3
    for fig in drawn:
        assert_reads_cleanly(fig)


def test_performance_axis_has_no_offset_and_a_tiny_difference_stays_flat(tmp_path, drawn):
    names = [fake_run(tmp_path, "a", "lora", 42, 0.8000, lora_r=8).name,
             fake_run(tmp_path, "b", "ba_lora", 42, 0.8002, param_budget=73728).name]
    compare(groups_from_names(tmp_path, names), tmp_path / "out", say=lambda line: None)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    ax = drawn[0].axes[0]
    FigureCanvasAgg(drawn[0]).draw()
    assert ax.yaxis.get_major_formatter().get_offset() == ""
    low, high = ax.get_ylim()
    assert high - low >= 2.0  # percentage points: 0.02 of them is no cliff
    assert all("e" not in t.get_text() for t in ax.get_yticklabels())


def test_rank_heatmaps_name_method_and_experiment_and_keep_module_names_apart(tmp_path, drawn):
    modules = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
               "mlp.up_proj", "mlp.down_proj"]
    grid = pd.DataFrame([[2 + (layer + i) % 5 for i in range(len(modules))] for layer in range(6)],
                        columns=[m.split(".")[-1] + "_with_a_long_suffix" for m in modules])
    run = load_run(tmp_path, fake_run(tmp_path, "sst2-ba_lora-budget73728-lr2e-3-s42", "ba_lora").name)
    group = RunGroup("ba_lora (lora_target_modules=all-linear, param_budget=73728)", "sst2", "ba_lora", None, 73728,
                     [run])
    title = rank_title(group)
    assert "ba_lora" in title and "sst2-ba_lora-budget73728-lr2e-3-s42" in title
    plots.rank_heatmaps([(rank_title(group, "initial"), grid), (rank_title(group, "final"), grid)],
                        out(tmp_path, "ranks.png"))
    assert_reads_cleanly(drawn[0])


def test_plot_ranks_title_names_method_and_experiment(tmp_path, drawn):
    from analysis.test_ranks_and_plots import save_adalora
    from balora.cli import main

    fake_run(tmp_path, "sst2-adalora-s42", "adalora", 42)
    save_adalora(tmp_path / "sst2-adalora-s42" / "model_checkpoint")
    assert main(["plot", "ranks", "--model_path", str(tmp_path / "sst2-adalora-s42" / "model_checkpoint"),
                 "--output", str(tmp_path / "ranks.png")]) == 0
    titles = [ax.get_title() for ax in drawn[0].axes if ax.get_title()]
    assert titles and all("adalora" in t and "sst2-adalora-s42" in t for t in titles)


def test_confusion_matrices_with_long_class_names(tmp_path, drawn):
    names = ["World news and international politics", "Sports", "Business and the economy",
             "Science/Technology and computing"]
    matrix = [[40, 5, 3, 2], [1, 48, 1, 0], [4, 2, 38, 6], [3, 1, 7, 39]]
    panels = [(f"lora (lora_alpha={16 * i}, lora_r={8 * i}, lora_target_modules={LONG_MODULES[i % 3]}) "
               f"(ag_news, 2 seeds)", matrix, names) for i in range(1, 6)]
    plots.confusion_matrices(panels, out(tmp_path, "confusion.png"))
    assert_reads_cleanly(drawn[0])


def test_training_curves_with_long_labels(tmp_path, drawn):
    curves = []
    for i, modules in enumerate(LONG_MODULES):
        path = fake_run(tmp_path, f"run{i}", "lora", 42, 0.8 + i / 100)
        curves.append((f"lora (lora_r={8 * i}, lora_target_modules={modules}), sst2, k=64",
                       *plots.read_curves(path), "accuracy"))
    plots.training_curves(curves, out(tmp_path, "curves.png"))
    assert_reads_cleanly(drawn[0])


def stepwise(results_dir, name, seed, values, metric="accuracy"):
    path = (fake_run(results_dir, name, seed=seed, accuracy=max(values)) if metric == "accuracy"
            else fake_language_run(results_dir, name, seed=seed, perplexity=min(values)))
    records = [{"type": "eval", "step": 10 * (i + 1), "epoch": (i + 1) / len(values), "loss": 1.0, metric: v}
               for i, v in enumerate(values)]
    (path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return load_run(results_dir, name)


def test_sweep_figure_with_long_values(tmp_path, drawn):
    groups = [RunGroup(f"lora-{text}", "sst2", "lora", None, None,
                       [stepwise(tmp_path, f"s-{i}-{seed}", seed, [0.5 + 0.05 * i, 0.6 + 0.04 * i + seed / 1000])
                        for seed in (42, 43)], phase="which modules", entry_label="lora",
                       swept={"lora_target_modules": text.split("+")}, swept_text={"lora_target_modules": text})
              for i, text in enumerate(LONG_MODULES)]
    sweep_figure(sweep_families(groups)[0], out(tmp_path, "sweep.png"))
    assert_reads_cleanly(drawn[0])


def test_a_perplexity_sweep_marks_its_lowest_value_as_its_best(tmp_path, drawn):
    """The sweep figure labelled the peak with max(): a perplexity sweep showed its worst value."""
    groups = [RunGroup(f"lora-{r}", "alpaca", "lora", 200, None,
                       [stepwise(tmp_path, f"ppl-{r}", 42, values, metric="perplexity")], phase="rank",
                       entry_label="lora", swept={"lora_r": r}, swept_text={"lora_r": str(r)})
              for r, values in ((4, [12.0, 9.5, 10.5]), (8, [11.0, 8.25, 9.0]))]
    assert peak_values(groups[0], "perplexity") == [9.5]
    from balora.analysis.sweeps import seed_curves

    assert curve_peak(seed_curves(groups[1], "perplexity"), "perplexity") == 8.25
    sweep_figure(sweep_families(groups)[0], tmp_path / "sweep.png")
    labels = [t.get_text() for t in drawn[0].legends[0].get_texts()]
    assert labels == ["4: best 9.50", "8: best 8.25"]


def test_memory_plot_with_long_labels(tmp_path, drawn):
    searches = [(f"{method} (lora_r=16, lora_target_modules=query+key+value+attention.output.dense)",
                 BatchSearch(8, 16, {1: 2 * 10**8, 2: 3 * 10**8, 4: 5 * 10**8, 8: 9 * 10**8, 16: 17 * 10**8}))
                for method in ("lora", "ba_lora", "adalora", "dora")]
    memory_plot(searches, 10**9, "sentence-transformers/all-MiniLM-L6-v2 on sst2, --max_length 128, bf16, "
                "gradient checkpointing off, 4 methods", "GPU allocator peak of one optimizer step (forward, "
                "backward, step) on an NVIDIA H100 80GB HBM3", out(tmp_path, "memory.png"))
    assert_reads_cleanly(drawn[0])


def test_labels_wrap_between_names_never_inside_one():
    from balora.analysis.figures import wrap

    assert wrap("lora (lora_r=16, lora_target_modules=intermediate.dense+output.dense), sst2, k=64", 38) == (
        "lora (lora_r=16, lora_target_modules=\nintermediate.dense+output.dense), sst2,\nk=64")
    assert wrap("short", 38) == "short" and wrap("a\nb", 38) == "a\nb"
