"""The ``qmsdocs`` command line. The only module that prints or exits.

Exit codes: 0 success; 1 a problem in the user's input (profile, templates, reference document);
2 a usage error (unknown option, missing file), as click reports it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from qmsdocs import __version__

F = TypeVar("F", bound=Callable[..., Any])

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
EXISTING_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


def bundled_profiles_dir() -> Path:
    """The bundled example profiles: inside the installed wheel, or at the top of a source checkout."""
    from importlib import resources

    packaged = Path(str(resources.files("qmsdocs"))) / "_data" / "profiles"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "profiles"


def default_profile() -> Path:
    """The profile built when ``qmsdocs build`` is given none."""
    return bundled_profiles_dir() / "brightwater.yaml"


def handle_errors(func: F) -> F:
    """Turn a QmsDocsError into its message on stderr and its exit code: never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from qmsdocs.errors import QmsDocsError

        try:
            return func(*args, **kwargs)
        except QmsDocsError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(error.exit_code)

    return wrapper  # type: ignore[return-value]


def templates_option(func: F) -> F:
    """The repeatable ``--templates DIR`` option (template layers above the built-in one)."""
    return click.option(
        "--templates",
        "-t",
        "templates",
        multiple=True,
        type=EXISTING_DIR,
        help="Template folder layered above the built-in templates (repeatable; the first given wins).",
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="qmsdocs", message="%(prog)s %(version)s")
def main() -> None:
    """Generate the controlled documents of an ISO 9001 quality management system from a YAML profile."""


@main.command()
@click.argument("profiles", nargs=-1, type=EXISTING_FILE)
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("output"),
              show_default=True, help="Output folder; each profile gets a sub-folder named after its file.")
@click.option("-f", "--format", "formats", multiple=True, type=click.Choice(["md", "docx"]),
              help="Output format (repeatable). Default: the profile's output.formats (docx and md).")
@templates_option
@click.option("--reference-docx", type=EXISTING_FILE, help="House-style Word file for DOCX output.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: the number of CPUs; 1 builds in this process).")
@click.option("--force", is_flag=True, help="Rebuild every document, even those that are up to date.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no per-profile lines; errors and the summary only.")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="Seconds to wait while another build writes to the same output folder (0: refuse at once).")
@handle_errors
def build(
    profiles: Sequence[Path],
    out: Path,
    formats: Sequence[str],
    templates: Sequence[Path],
    reference_docx: Path | None,
    jobs: int | None,
    force: bool,
    quiet: bool,
    lock_timeout: float,
) -> None:
    """Build the document set of each PROFILE (default: the bundled example) into OUT.

    Profiles are built in parallel; documents whose inputs have not changed since the last build into
    OUT are left as they are. Exit code 1 when any profile failed (the others are still built).
    """
    from qmsdocs.build import build as run_build
    from qmsdocs.progress import ProgressLine

    chosen = list(profiles) or [default_profile()]
    bar = ProgressLine(sys.stdout) if not quiet and sys.stdout.isatty() else None
    try:
        report = run_build(chosen, out, formats=formats or None, templates=templates, reference_docx=reference_docx,
                           jobs=jobs, force=force, progress=bar, lock_timeout=lock_timeout)
    except KeyboardInterrupt:
        if bar:
            bar.close()
        click.echo("interrupted: every file written so far is complete; run the build again to finish", err=True)
        sys.exit(130)
    finally:
        if bar:
            bar.close()
    for result in report.profiles:
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        if result.ok and not quiet:
            click.echo(
                f"{result.profile}: {len(result.documents)} documents -> {result.out_dir} "
                f"({len(result.written)} written, {len(result.unchanged)} unchanged"
                + (f", {len(result.omitted)} not applicable" if result.omitted else "")
                + (f", {len(result.removed)} old files removed" if result.removed else "")
                + ")"
            )
    built = len(report.profiles) - len(report.failed)
    click.echo(
        f"{built} profiles built, {len(report.failed)} failed; documents: {report.written} written, "
        f"{report.unchanged} unchanged, {report.omitted} omitted"
        + (f", {report.removed} old files removed" if report.removed else "")
        + f"; {report.seconds:.2f} s"
    )
    if report.failed:
        click.echo("failed:", err=True)
        for result in report.failed:
            click.echo(f"  {result.profile}:", err=True)
            for error in result.errors:
                for line in error.splitlines():
                    click.echo(f"    {line}", err=True)
        sys.exit(1)


@main.command()
@click.argument("profiles", nargs=-1, required=True, type=EXISTING_FILE)
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@handle_errors
def validate(profiles: Sequence[Path], strict: bool) -> None:
    """Check each PROFILE; print every problem with its file, line and field."""
    from qmsdocs.advice import advise
    from qmsdocs.errors import ProfileError
    from qmsdocs.profile import load_profile

    failed = False
    for path in profiles:
        try:
            profile = load_profile(path)
        except ProfileError as error:
            click.echo(str(error), err=True)
            failed = True
            continue
        warnings = advise(profile)
        for warning in warnings:
            click.echo(f"{warning} (warning)", err=True)
        if warnings and strict:
            failed = True
            click.echo(f"{path}: {len(warnings)} warnings, treated as errors (--strict)", err=True)
        else:
            click.echo(f"{path}: valid" + (f" with {len(warnings)} warnings" if warnings else ""))
    if failed:
        sys.exit(1)


@main.group()
def templates() -> None:
    """Inspect the template library."""


@templates.command("list")
@templates_option
@handle_errors
def templates_list(templates: Sequence[Path]) -> None:
    """List every document template: id, title, clauses and the layer it comes from."""
    from qmsdocs.library import TemplateLibrary

    library = TemplateLibrary(list(templates))
    rows = [
        (info.front.id, info.front.title, ", ".join(info.front.clauses) or "-", library.display_name(info.layer, info.path))
        for info in sorted(library.templates().values(), key=lambda i: i.front.id)
    ]
    widths = [max(len(row[i]) for row in [("ID", "TITLE", "CLAUSES", "SOURCE"), *rows]) for i in range(3)]
    for row in [("ID", "TITLE", "CLAUSES", "SOURCE"), *rows]:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
