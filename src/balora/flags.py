"""Flags from signatures and dataclasses: the parser pieces every command line of balora is built
from (`balora <command>`, and the method entries of `balora memory --methods`).

Below the commands, so that a command that parses words of its own needs no import of the CLI.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing

from balora.errors import UserError


MISSING = "the following arguments are required: "


class OneLineParser(argparse.ArgumentParser):
    """Bad flags get one line and exit code 2, without the usage block.

    ``also_required``: (names of the flags given) -> further inputs this machine needs (`balora
    memory`'s limit without a GPU), named in the same line as the missing required flags.
    """

    also_required = None

    def parse_known_args(self, args=None, namespace=None):
        self._words = list(args) if args is not None else []
        return super().parse_known_args(args, namespace)

    def error(self, message: str):
        if message.startswith(MISSING) and self.also_required is not None:
            given = {word[2:].split("=", 1)[0] for word in getattr(self, "_words", []) if word.startswith("--")}
            message = ", ".join([message, *self.also_required(given)])
        raise UserError(f"{self.prog}: {message}")


def _unwrap_optional(annotation):
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0]
    return annotation


def add_field_flag(parser: argparse.ArgumentParser, name: str, annotation, default, help: str, required=False):
    annotation = _unwrap_optional(annotation)
    flag = f"--{name}"
    help = help.replace("%", "%%")  # argparse %-formats help text ("10% of the steps")
    if annotation is bool:
        # a switch that is on by default needs its off form: --no-<name> (argparse's usual pair)
        action = argparse.BooleanOptionalAction if default else "store_true"
        parser.add_argument(flag, action=action, default=default, help=help)
    elif typing.get_origin(annotation) is list:
        parser.add_argument(flag, nargs="+", type=typing.get_args(annotation)[0], default=default, required=required,
                            help=help)
    else:
        shown = "" if default is None or required else f" (default: {default})"
        parser.add_argument(flag, type=annotation, default=default, required=required, help=help + shown)


def add_dataclass_flags(parser: argparse.ArgumentParser, cls: type, help_for: dict[str, str] | None = None) -> None:
    """One flag per field; ``help_for``: a method's own help for some of them (what the flag does for it)."""
    hints = typing.get_type_hints(cls)
    group = parser.add_argument_group((cls.__doc__ or cls.__name__).strip().splitlines()[0])
    for field in dataclasses.fields(cls):
        help = (help_for or {}).get(field.name, field.metadata.get("help", ""))
        add_field_flag(group, field.name, hints[field.name], field.default, help,
                       required=field.metadata.get("required", False))


def from_namespace(cls: type, namespace: argparse.Namespace):
    return cls(**{field.name: getattr(namespace, field.name) for field in dataclasses.fields(cls)})


def accepted_flags(name: str, cls: type, leave_out: tuple[str, ...], doc: str) -> type:
    """A dataclass of ``cls``'s fields but ``leave_out``, none of them required: the flags of one
    command that another accepts (`balora count` takes a `balora train` command line as it is)."""
    hints = typing.get_type_hints(cls)
    fields = [(f.name, hints[f.name], dataclasses.field(default=f.default, metadata={
        **f.metadata, "required": False})) for f in dataclasses.fields(cls) if f.name not in leave_out]
    made = dataclasses.make_dataclass(name, fields)
    made.__doc__ = doc
    return made
