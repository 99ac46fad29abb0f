"""Console lines: on a terminal a report line never lands on a progress bar's line; counts read
as English."""

from __future__ import annotations

import io
import sys

from balora.console import Console, plural


def rendered(stream: str) -> list[str]:
    """What a terminal shows for ``stream``: a carriage return goes back to the line's start and
    what follows overwrites it; a newline starts the next line."""
    lines, line, column = [], [], 0
    for char in stream:
        if char == "\n":
            lines.append("".join(line).rstrip())
            line, column = [], 0
        elif char == "\r":
            column = 0
        else:
            if column < len(line):
                line[column] = char
            else:
                line.append(char)
            column += 1
    return lines + (["".join(line).rstrip()] if line else [])


def test_a_report_line_never_shares_a_line_with_a_progress_bar(monkeypatch):
    from tqdm.auto import tqdm  # the kind the Trainer and generation draw

    terminal = io.StringIO()  # stdout and stderr both drawn on one terminal
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setattr(sys, "stderr", terminal)
    bar = tqdm(total=10, file=sys.stderr, desc="training", mininterval=0, ascii=True)
    bar.update(3)
    Console().say("Epoch 1: validation accuracy 0.8125")
    bar.update(3)
    bar.close()
    shown = rendered(terminal.getvalue())
    assert "Epoch 1: validation accuracy 0.8125" in shown, shown
    assert any(line.startswith("training: 100%") or line.startswith("training:  60%") for line in shown), shown


def test_without_a_bar_a_line_is_printed_as_it_is(capsys):
    Console().say("Results: results/x")
    assert capsys.readouterr().out == "Results: results/x\n"


def test_plurals():
    assert plural(1, "torch thread") == "1 torch thread" and plural(4, "torch thread") == "4 torch threads"
    assert plural(1, "seed") == "1 seed" and plural(1000, "example") == "1,000 examples"


def test_one_torch_thread_is_said_in_the_singular(tmp_path, tiny_data_dir, tiny_model_dir, monkeypatch):
    import balora.train
    from helpers import run_train

    monkeypatch.setattr(balora.train, "match_threads_to_cores", lambda: 1)
    run_train(tmp_path, tiny_data_dir, tiny_model_dir, epochs=1)
    log = (tmp_path / "tiny" / "training_log.txt").read_text()
    assert ", 1 torch thread, " in log and "Memory: base " in log and "(none)" not in log
