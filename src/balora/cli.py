"""The `balora` command line: a mapping from command name to a function.

A command's signature is its schema and its docstring is its --help. A parameter annotated
with a dataclass becomes one flag per field (the field's help text is the flag's help);
``**method_options`` stands for the option dataclasses of every registered method.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import logging
import sys
import typing
import warnings

from balora.errors import Interrupted, TrainingFailure, UserError, storage_problem
from balora.flags import OneLineParser, add_dataclass_flags, add_field_flag, from_namespace


def docstring_params(func) -> dict[str, str]:
    """Help text of plain parameters from a Google-style ``Args:`` section; a line indented
    deeper than the parameter names continues the text of the one above."""
    doc = inspect.getdoc(func) or ""
    helps, in_args, name = {}, False, None
    for line in doc.splitlines():
        if line.strip() == "Args:":
            in_args = True
        elif in_args and line.startswith("        ") and name is not None:
            helps[name] += " " + line.strip()
        elif in_args and ":" in line and line.startswith("    "):
            name, text = line.strip().split(":", 1)
            name = name.strip()
            helps[name] = text.strip()
    return helps


def build_command_parser(subparsers, name: str, func, method):
    doc = inspect.getdoc(func) or ""
    takes_method = any(p.kind is p.VAR_KEYWORD for p in inspect.signature(func).parameters.values())
    epilog = (f"Method flags shown: those of --peft_method {method.name}; `balora {name} --peft_method METHOD "
              "--help` lists another method's (see `balora methods`).") if takes_method else None
    parser = subparsers.add_parser(name, help=doc.splitlines()[0] if doc else None, epilog=epilog,
                                   description=doc.split("\nArgs:")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.also_required = getattr(func, "also_required", None)
    hints = typing.get_type_hints(func)
    helps = docstring_params(func)
    for param in inspect.signature(func).parameters.values():
        if param.kind is param.POSITIONAL_ONLY:
            parser.add_argument(param.name, metavar=param.name.upper(), help=helps.get(param.name, ""))
        elif param.kind is param.VAR_KEYWORD:
            for cls in method.option_classes:
                add_dataclass_flags(parser, cls, method.flag_help)
        elif dataclasses.is_dataclass(hints.get(param.name)):  # TrainConfig: the shared flags, as this method reads them
            add_dataclass_flags(parser, hints[param.name], method.flag_help if takes_method else None)
        else:
            required = param.default is inspect.Parameter.empty
            add_field_flag(parser, param.name, hints.get(param.name, str), None if required else param.default,
                           helps.get(param.name, ""), required=required)
    return parser


def build_parsers(subparsers, commands: dict, method, prefix: str = "command") -> None:
    """A command is a function, or a mapping of sub-command names to functions (`balora plot ranks`)."""
    for name, entry in commands.items():
        if isinstance(entry, dict):
            group = subparsers.add_parser(name, help=f"{name}: {', '.join(entry)}")
            inner = group.add_subparsers(dest=f"{prefix}_{name}", metavar="SUBCOMMAND", parser_class=OneLineParser)
            build_parsers(inner, entry, method, f"{prefix}_{name}")
        else:
            build_command_parser(subparsers, name, func=entry, method=method)


def chosen_command(commands: dict, namespace: argparse.Namespace, prefix: str = "command"):
    entry = commands.get(getattr(namespace, prefix, None))
    if isinstance(entry, dict):
        return chosen_command(entry, namespace, f"{prefix}_{getattr(namespace, prefix)}")
    return entry


def innermost_parser(parser: argparse.ArgumentParser, namespace: argparse.Namespace, prefix: str = "command"):
    """The parser of the command group the user named (`balora plot` -> plot's own help)."""
    name = getattr(namespace, prefix, None)
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if name is None or not actions or name not in actions[0].choices:
        return parser
    return innermost_parser(actions[0].choices[name], namespace, f"{prefix}_{name}")


def call_command(func, namespace: argparse.Namespace, option_classes: list[type]):
    hints = typing.get_type_hints(func)
    args, kwargs = [], {}
    for param in inspect.signature(func).parameters.values():
        if param.kind is param.POSITIONAL_ONLY:
            args.append(getattr(namespace, param.name))
        elif param.kind is param.VAR_KEYWORD:
            kwargs.update({cls.__name__: from_namespace(cls, namespace) for cls in option_classes})
        elif dataclasses.is_dataclass(hints.get(param.name)):
            kwargs[param.name] = from_namespace(hints[param.name], namespace)
        else:
            kwargs[param.name] = getattr(namespace, param.name)
    return func(*args, **kwargs)


def quiet_libraries() -> None:
    """balora reports what matters itself (e.g. the new task head); library chatter hides it."""

    # bitsandbytes, imported by PEFT whenever it is installed, warns at import that an optional
    # CPU kernel package is missing; it falls back to its own kernels, and the warning reads as an error.
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    # The `kernels` package bitsandbytes asks for a CPU kernel says, offline, that it skips a
    # publisher trust check: a line before the user's own that is none of their concern.
    logging.getLogger("kernels").setLevel(logging.ERROR)

    import datasets
    import huggingface_hub
    import transformers

    huggingface_hub.utils.logging.set_verbosity_error()  # Hub retries are summed up in our one error line
    warnings.filterwarnings("ignore", category=FutureWarning)  # deprecations inside the libraries, not ours
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()  # weight-loading bars
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()


def named_method(argv: list[str]) -> str:
    """--peft_method is read first: it decides which method flags exist."""
    from balora.config import TrainConfig

    for i, word in enumerate(argv):
        if word == "--peft_method" and i + 1 < len(argv):
            return argv[i + 1]
        if word.startswith("--peft_method="):
            return word.split("=", 1)[1]
    return TrainConfig.__dataclass_fields__["peft_method"].default


def main(argv: list[str] | None = None) -> int:
    from balora.commands import COMMANDS
    from balora.methods import get_method, refuse_flags_of_other_methods

    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        method = get_method(named_method(argv))
        option_classes = list(method.option_classes)
        parser = OneLineParser(prog="balora", description="Budget-aware parameter-efficient fine-tuning.")
        subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
        build_parsers(subparsers, COMMANDS, method)
        namespace, unknown = parser.parse_known_args(argv)
        if unknown:
            refuse_flags_of_other_methods(method, unknown)
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        func = chosen_command(COMMANDS, namespace)
        if func is None:
            innermost_parser(parser, namespace).print_help()
            return 2
        # Only now, so that --help and bad flags never wait for torch and transformers to import.
        quiet_libraries()
        call_command(func, namespace, option_classes)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return UserError.exit_code
    except TrainingFailure as err:
        print(f"error: {err}", file=sys.stderr)
        return TrainingFailure.exit_code
    except OSError as err:  # a write the command could not place elsewhere: a full or read-only disk
        problem = storage_problem(err)
        if problem is None:
            raise
        print(f"error: {problem}", file=sys.stderr)
        return TrainingFailure.exit_code
    except KeyboardInterrupt as err:
        print(err.args[0] if isinstance(err, Interrupted) and err.args else "interrupted", file=sys.stderr)
        return 130
    return 0
