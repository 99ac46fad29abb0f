"""Print the Markdown table of `balora train` flags that the README carries.

Run: .venv/bin/python scripts/flags_table.py
"""

import dataclasses

from balora.config import TrainConfig
from balora.methods import METHODS, all_option_classes


def rows():
    users = {cls: [m.name for m in METHODS.values() if cls in m.option_classes] for cls in all_option_classes()}
    for cls in [TrainConfig, *all_option_classes()]:
        scope = "all" if cls is TrainConfig else ", ".join(users[cls])
        for field in dataclasses.fields(cls):
            default = "required" if field.metadata.get("required") else field.default
            yield f"| `--{field.name}` | {default} | {scope} | {field.metadata['help']} |"


if __name__ == "__main__":
    print("| flag | default | methods | meaning |\n|---|---|---|---|")
    print("\n".join(rows()))
