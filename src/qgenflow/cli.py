"""The ``qgenflow`` command line: inspect artefacts, document and check configs.

Every user error (a missing or malformed file, an invalid config) is reported as
one ``error:`` line on stderr with exit status 1, never a traceback. The commands
work from any directory: the config schema ships inside the package.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from . import __version__
from .plan import SCHEMA_PATH, check_config, check_schema, check_values, file_widths
from .configdocs import render_config_docs
from .errors import InvalidConfigError, QgenflowError
from .files import write_text_atomic
from .io import summarize
from .stages.publish import verify_manifest

__all__ = ["build_parser", "main", "load_config_file"]


class UserError(QgenflowError):
    """A problem with the user's file or arguments, printed as one line."""


def _read_text(path: Path, what: str) -> str:
    if not path.exists():
        raise UserError(f"{path}: {what} not found")
    if not path.is_file():
        raise UserError(f"{path}: is not a file")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror})") from None


def load_config_file(path: str | Path) -> dict[str, Any]:
    """A study config read as plain YAML (no tags), as a mapping.

    Raises:
        UserError: the file is missing, not UTF-8, not YAML, tagged, or not a mapping.
    """
    path = Path(path)
    text = _read_text(path, "config file")
    try:
        config = yaml.safe_load(text)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}: " if mark else ""
        raise UserError(
            f"{path}: {where}{exc.problem}; only plain YAML is allowed (no !! tags such as !!python/...)"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{path}: not valid YAML: {where}{problem}") from None
    if not isinstance(config, dict):
        raise UserError(f"{path}: a config is a YAML mapping of keys (seeds, targets, models, studies), "
                        f"got {type(config).__name__}")
    return config


def _inspect(args: argparse.Namespace) -> int:
    status = 0
    for path in args.files:
        try:
            print(summarize(path, args.dataset))
        except QgenflowError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
    return status


def _config_docs(args: argparse.Namespace) -> int:
    _read_text(Path(args.schema), "schema")
    text = render_config_docs(args.schema)
    if args.output:
        write_text_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


def _check_config(args: argparse.Namespace) -> int:
    config = load_config_file(args.config)
    _read_text(Path(args.schema), "schema")
    try:
        check_values(config)
        check_schema(config, args.schema)
        check_config(config, file_widths(config, args.root))
    except InvalidConfigError as exc:
        raise UserError(f"{args.config}: {exc}") from None
    print(f"{args.config}: valid")
    return 0


def _verify_manifest(args: argparse.Namespace) -> int:
    path = Path(args.manifest)
    try:
        json.loads(_read_text(path, "manifest"))
    except ValueError as exc:
        raise UserError(f"{path}: not a JSON manifest ({exc})") from None
    problems = verify_manifest(path)
    for problem in problems:
        print(f"error: {args.manifest}: {problem}", file=sys.stderr)
    if not problems:
        print(f"{args.manifest}: every checksum matches")
    return 1 if problems else 0


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``--version`` and one subcommand per task, every option with its help."""
    parser = argparse.ArgumentParser(prog="qgenflow", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"qgenflow {__version__}",
                        help="print the qgenflow version and exit")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("inspect", help="print an artefact's kind, provenance and every dataset with what it means")
    p.add_argument("files", nargs="+", help="artefacts (target.h5, model.h5, metrics.h5)")
    p.add_argument("-d", "--dataset", help="print only this dataset, in full (e.g. circuit/qasm: the OpenQASM text)")
    p.set_defaults(func=_inspect)

    p = sub.add_parser("config-docs", help="render the config reference (Markdown) from the schema")
    p.add_argument("--schema", default=SCHEMA_PATH, help="JSON schema (default: the one shipped with qgenflow)")
    p.add_argument("-o", "--output", help="write to this file instead of stdout")
    p.set_defaults(func=_config_docs)

    p = sub.add_parser("check-config", help="validate a config file as the workflow does, before any job")
    p.add_argument("config", help="the study's YAML config")
    p.add_argument("--schema", default=SCHEMA_PATH, help="JSON schema (default: the one shipped with qgenflow)")
    p.add_argument("--root", default=".", help="folder that data paths are relative to (default: .)")
    p.set_defaults(func=_check_config)

    p = sub.add_parser("verify-manifest", help="recheck the checksums of a published figure set")
    p.add_argument("manifest", nargs="?", default="results/publish/manifest.json", help="the manifest.json")
    p.set_defaults(func=_verify_manifest)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``qgenflow`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except QgenflowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a file that cannot be written or read: the system's own words suffice
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
