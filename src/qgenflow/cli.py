"""The ``qgenflow`` command line: inspect artefacts, document and check configs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main"]


def _inspect(args: argparse.Namespace) -> int:
    from .errors import ArtefactError
    from .io import summarize

    status = 0
    for path in args.files:
        try:
            print(summarize(path))
        except ArtefactError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
    return status


def _config_docs(args: argparse.Namespace) -> int:
    from .configdocs import render_config_docs

    text = render_config_docs(args.schema)
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def _check_config(args: argparse.Namespace) -> int:
    import jsonschema
    import yaml

    from .config import check_config
    from .errors import InvalidConfigError

    config = yaml.safe_load(Path(args.config).read_text())
    schema = yaml.safe_load(Path(args.schema).read_text())
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(config))
    # A failed kind-specific branch also flags its keys as "unevaluated": report the real cause.
    specific = [e for e in errors if e.validator != "unevaluatedProperties"]
    error = jsonschema.exceptions.best_match(specific or errors)
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "<root>"
        print(f"error: {args.config}: {where}: {error.message}", file=sys.stderr)
        return 1
    try:
        check_config(config)
    except InvalidConfigError as exc:
        print(f"error: {args.config}: {exc}", file=sys.stderr)
        return 1
    print(f"{args.config}: valid")
    return 0


def _verify_manifest(args: argparse.Namespace) -> int:
    from .publish import verify_manifest

    problems = verify_manifest(args.manifest)
    for problem in problems:
        print(f"error: {args.manifest}: {problem}", file=sys.stderr)
    if not problems:
        print(f"{args.manifest}: every checksum matches")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``qgenflow`` console script."""
    default_schema = Path("workflow/schemas/config.schema.yaml")
    parser = argparse.ArgumentParser(prog="qgenflow", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("inspect", help="print a readable summary of .h5 artefacts")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=_inspect)

    p = sub.add_parser("config-docs", help="render the config reference (Markdown) from the schema")
    p.add_argument("--schema", default=default_schema)
    p.add_argument("-o", "--output")
    p.set_defaults(func=_config_docs)

    p = sub.add_parser("check-config", help="validate a config file against the schema")
    p.add_argument("config")
    p.add_argument("--schema", default=default_schema)
    p.set_defaults(func=_check_config)

    p = sub.add_parser("verify-manifest", help="recheck the checksums of a published figure set")
    p.add_argument("manifest", nargs="?", default="results/publish/manifest.json")
    p.set_defaults(func=_verify_manifest)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
