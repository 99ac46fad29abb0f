"""What a study file names, checked before anything is planned or trained.

Phase, dataset and method-entry names become parts of experiment folder names
(``<dataset>-<phase>-<label>-...``), so each must be something a folder name may hold: a `/` would
make every experiment fail at run time, a space would follow into every name. Lists that name a
thing twice, and two groups that would share a name, are refused at the lines that say so.
"""

from __future__ import annotations

import re

from balora.errors import UserError

# Letters, digits and . _ + = - (what an experiment name may hold), not starting with a dot.
NAME = re.compile(r"[A-Za-z0-9_+=][A-Za-z0-9_.+=-]*")
# Each part short enough that a whole experiment name (dataset-phase-label-b<budget>-k<k>-lr<lr>-s<seed>)
# stays far below the 255 bytes of a folder name, its lock file (.<name>.lock) included.
MAX_NAME = 64
MAX_EXPERIMENT_NAME = 200


def name_problem(name) -> str | None:
    """Why ``name`` cannot be part of an experiment's folder name, or None."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        return "may only hold letters, digits and . _ + = - (no spaces, no /), and not start with a dot"
    if ".." in name:
        return "may not hold '..'"
    if len(name) > MAX_NAME:
        return f"is {len(name)} characters long; at most {MAX_NAME}"
    return None


def check_names(study, options) -> None:
    """Phase and dataset names (the file's and --datasets'), and lists that name a thing twice."""
    doc = study.source
    for phase_name, phase in study.phases.items():
        problem = name_problem(phase_name)
        if problem:
            raise doc.error(("phases", phase_name), f"phase name {phase_name!r} {problem}")
    lists = [(("datasets",), study.datasets)]
    lists += [(("phases", p, "datasets"), phase["datasets"]) for p, phase in study.phases.items() if "datasets" in phase]
    for keys, names in lists:
        for i, name in enumerate(names):
            at = keys + (name,) if keys + (name,) in doc.lines else keys + (i,)  # mapping form: its own line
            problem = name_problem(name)
            if problem:
                raise doc.error(at, f"dataset name {name!r} {problem}")
            if name in names[:i]:
                raise doc.error(at, f"dataset {name!r} is listed twice (line {doc.line(*keys, names.index(name))})")
    for name in options.datasets or []:
        problem = name_problem(name)
        if problem:
            raise UserError(f"--datasets: dataset name {name!r} {problem}")
    seed_lists = [(("seeds",), study.seeds)]
    seed_lists += [(("phases", p, "seeds"), phase["seeds"]) for p, phase in study.phases.items() if "seeds" in phase]
    for keys, seeds in seed_lists:
        for i, seed in enumerate(seeds):
            if seed in seeds[:i]:
                raise doc.error(keys + (i,), f"seed {seed} is listed twice")


def check_groups(doc, groups) -> None:
    """Every experiment name short enough for a folder, and no two groups sharing a name (they would
    share every experiment folder): the error names the lines of both entries."""
    first = {}
    for group in groups:
        longest = max((group.experiment_name(lr, seed) for lr in group.learning_rates
                       for seed in (*group.seeds, group.search_seed)), key=len)
        if len(longest) > MAX_EXPERIMENT_NAME:
            raise doc.error(("phases", group.phase, "methods", group.entry_label or group.label),
                            f"experiment name {longest} is {len(longest)} characters long; at most "
                            f"{MAX_EXPERIMENT_NAME} (shorten the phase, dataset or method names)")
        if group.key in first:
            lines = sorted({first[group.key].line, group.line})
            where = f"lines {lines[0]} and {lines[1]}" if len(lines) == 2 else f"line {lines[0]}"
            raise UserError(f"{doc.path} {where}: two groups would share the name {group.key}; give them "
                            "different labels")
        first[group.key] = group


def check_swept_types(doc, entry_keys: tuple, swept: dict, swept_text: dict) -> None:
    """A relative sweep value must come to its setting's type: r x 0.5 of an odd rank is no rank."""
    from balora.study.values import typed_setting

    for name, value in swept.items():
        try:
            swept[name] = typed_setting(name, value)
        except ValueError as err:
            raise doc.error(entry_keys + ("sweep", name), f"{entry_keys[-1]}: {err}, from {name} = "
                            f"{swept_text[name]}; choose factors that give whole numbers") from None


def grid_warnings(groups) -> list[str]:
    """Comparisons whose methods get learning-rate grids of different sizes: the method with the
    larger grid had more tries at the validation set, which favours it."""
    comparisons: dict[tuple, list] = {}
    for group in groups:
        comparisons.setdefault((group.phase, group.dataset, group.budget, group.train_samples), []).append(group)
    warnings = []
    for (phase, dataset, budget, shots), members in comparisons.items():
        sizes = {g.label: len(g.learning_rates) for g in members}
        if len(set(sizes.values())) > 1:
            where = f"phase {phase}, {dataset}" + (f", budget {budget:,}" if budget else "") + (
                f", k={shots}" if shots else "")
            listed = ", ".join(f"{label} {size if size > 1 else 'none (one rate)'}" for label, size in sizes.items())
            warnings.append(f"learning-rate grids of different sizes in one comparison ({where}): {listed}; "
                            "a method with more rates had more tries on validation")
    return warnings
