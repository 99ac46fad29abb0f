"""Which line of a study file set what: errors about a setting point at the line to fix."""

from __future__ import annotations

from balora.errors import ConfigError, UserError
from balora.study.data_check import COLUMN_SETTINGS
from balora.study.group_context import GroupSpot, PlanContext


def checked_data(context: PlanContext, spot: GroupSpot, settings: dict):
    """The group's data, read with the settings that will reach it; a mistake names the line that set it."""
    doc = context.doc
    try:
        return context.data.check(spot.dataset, settings)
    except ConfigError as err:
        raise doc.error(where_set(doc, context.study, spot.phase, spot.dataset, spot.entry_keys, err.field),
                        str(err)) from None
    except UserError as err:
        phase = context.study.phases[spot.phase]
        # the line of the setting or column the message names, else of the file, else of the dataset
        named = [n for n in settings if f"--{n} " in str(err) or n in COLUMN_SETTINGS and repr(settings[n]) in str(err)]
        named.append("train_file")
        where = next((where_set(doc, context.study, spot.phase, spot.dataset, spot.entry_keys, name)
                      for name in named if name in settings),
                     where_dataset(doc, ("phases", spot.phase), phase, spot.dataset))
        raise doc.error(where, f"dataset {spot.dataset}: {err}") from None


def where_dataset(doc, phase_keys, phase, dataset=None) -> tuple:
    """Where a dataset is named: its own line in the mapping form, else the list that holds it."""
    if ("datasets", dataset) in doc.lines:  # the mapping form names it on a line of its own
        return ("datasets", dataset)
    return phase_keys + ("datasets",) if "datasets" in phase else ("datasets",)


def where_set(doc, study, phase_name, dataset, entry_keys, name) -> tuple:
    """The most specific place that sets ``name`` for this entry: its sweep, the entry, the phase,
    the dataset's defaults or entry, the study's defaults."""
    if name == "learning_rate":
        name = "learning_rates"
    method = study.phases[phase_name]["methods"][entry_keys[-1]].get("peft_method", entry_keys[-1])
    if name == "learning_rates" and ("learning_rates", method) in doc.lines:
        return ("learning_rates", method)
    for keys in (entry_keys + ("sweep",), entry_keys, ("phases", phase_name, "settings"),
                 ("dataset_defaults", dataset), ("datasets", dataset), ("defaults",)):
        if keys + (name,) in doc.lines:
            return keys + (name,)
    return entry_keys
