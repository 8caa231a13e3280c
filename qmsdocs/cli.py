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

from qmsdocs._version import __version__

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
@click.option(
    "--config",
    "config_file",
    type=EXISTING_FILE,
    help="Workspace configuration (default: qmsdocs.toml in the working folder, if any).",
)
@click.pass_context
@handle_errors
def main(ctx: click.Context, config_file: Path | None) -> None:
    """Generate the controlled documents of an ISO 9001 quality management system from a YAML profile."""
    apply_config(ctx, config_file)


def apply_config(ctx: click.Context, config_file: Path | None) -> None:
    """Load qmsdocs.toml and make its settings the defaults of every command (the command line wins)."""
    if ctx.resilient_parsing:  # shell completion: no side effects
        return
    from qmsdocs.config import load_config

    config = load_config(config_file)
    ctx.obj = config
    defaults = config.default_map()
    for command, values in (ctx.default_map or {}).items():  # defaults given by a caller win
        if isinstance(values, dict):
            defaults.setdefault(command, {}).update(values)
    ctx.default_map = defaults


@main.command()
@click.argument("profiles", nargs=-1, type=EXISTING_FILE)
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("output"),
    show_default=True,
    help="Output folder; each profile gets a sub-folder named after its file.",
)
@click.option(
    "-f",
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(["md", "docx"]),
    help="Output format (repeatable). Default: the profile's output.formats (docx and md).",
)
@templates_option
@click.option("--reference-docx", type=EXISTING_FILE, help="House-style Word file for DOCX output.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: the number of CPUs; 1 builds in this process).",
)
@click.option("--force", is_flag=True, help="Rebuild every document, even those that are up to date.")
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="No progress bar and no per-profile lines; errors and the summary only.",
)
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds to wait while another build writes to the same output folder (0: refuse at once).",
)
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
    from qmsdocs.batch.builder import build as run_build
    from qmsdocs.batch.progress import ProgressLine

    chosen = list(profiles) or [default_profile()]
    bar = ProgressLine(sys.stdout) if not quiet and sys.stdout.isatty() else None
    try:
        report = run_build(
            chosen,
            out,
            formats=formats or None,
            templates=templates,
            reference_docx=reference_docx,
            jobs=jobs,
            force=force,
            progress=bar,
            lock_timeout=lock_timeout,
            limits=getattr(click.get_current_context().obj, "limits", None),  # qmsdocs.toml's [limits]
        )
    except KeyboardInterrupt:
        if bar:
            bar.close()
        click.echo(
            "interrupted: every file written so far is complete; run the build again to finish", err=True
        )
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
            if len(report.profiles) == 1:  # one organisation: say why documents were left out
                for omission in result.omitted:
                    click.echo(f"  not applicable: {omission.id} {omission.title}: {omission.reason}")
    built = len(report.profiles) - len(report.failed)
    click.echo(
        f"{built} {'profile' if built == 1 else 'profiles'} built, {len(report.failed)} failed; "
        f"documents: {report.written} written, "
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
    from qmsdocs.errors import ProfileError
    from qmsdocs.profile.advice import advise
    from qmsdocs.profile.models import load_profile

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
    from qmsdocs.library.layers import TemplateLibrary

    library = TemplateLibrary(list(templates))
    found, problems = library.scan()  # the templates that load, and every problem of the others
    rows = [
        (
            info.front.id,
            info.front.title,
            ", ".join(info.front.clauses) or "-",
            library.display_name(info.layer, info.path),
        )
        for info in sorted(found.values(), key=lambda i: i.front.id)
    ]
    widths = [max(len(row[i]) for row in [("ID", "TITLE", "CLAUSES", "SOURCE"), *rows]) for i in range(3)]
    for row in [("ID", "TITLE", "CLAUSES", "SOURCE"), *rows]:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if problems:
        sys.exit(1)


@templates.command("show")
@click.argument("name")
@templates_option
@handle_errors
def templates_show(name: str, templates: Sequence[Path]) -> None:
    """Print the source of the template NAME (a document id or a path) and where it comes from."""
    from qmsdocs.library.layers import TemplateLibrary

    library = TemplateLibrary(list(templates))
    layer, relative, file = library.find(name)
    source = library.read(file, library.display_name(layer, relative))  # a TemplateError if unreadable
    click.echo(f"# {library.display_name(layer, relative)}")
    click.echo(f"# file: {file}")
    if layer != "builtin" and (library.builtin / relative).is_file():
        click.echo(f"# replaces: builtin/{relative}")
    click.echo(source, nl=False)


@templates.command("eject")
@click.argument("name")
@click.option(
    "--to",
    "to",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("templates"),
    show_default="the first configured template folder, else ./templates",
    help="Template folder to write into (the file keeps its path inside the library).",
)
@click.option(
    "--extends",
    "extends",
    is_flag=True,
    help="Write a skeleton that extends the built-in template, with one block per section to edit.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@handle_errors
def templates_eject(name: str, to: Path, extends: bool, force: bool) -> None:
    """Copy the built-in template NAME (a document id or a path) into a template folder to edit."""
    from qmsdocs.library.workspace import eject

    written = eject(name, to, extends=extends, force=force)
    click.echo(f"wrote {written}")
    click.echo("edit it, then run: qmsdocs check (with --templates for a folder qmsdocs.toml does not name)")


@main.command("check")
@click.argument("profiles", nargs=-1, type=EXISTING_FILE)
@templates_option
@handle_errors
def check_command(profiles: Sequence[Path], templates: Sequence[Path]) -> None:
    """Check every template of every layer, and render each document for the examples and PROFILES.

    Reports all problems at once, each with its file and line; exits 1 when there are any.
    """
    from qmsdocs.library.check import check_library

    chosen = list(dict.fromkeys(path.resolve() for path in [*bundled_examples(), *profiles]))
    report = check_library(list(templates), chosen)
    for problem in report.problems:
        click.echo(str(problem), err=True)
    click.echo(report.summary(), err=not report.ok)
    if not report.ok:
        sys.exit(1)


def bundled_examples() -> list[Path]:
    """The example profiles every check renders against."""
    return sorted(bundled_profiles_dir().glob("*.yaml"))


@main.command("schema")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the schema to this file instead of printing it.",
)
@handle_errors
def schema_command(output: Path | None) -> None:
    """Print the JSON Schema of the profile (for editors: completion and checking as you type)."""
    from qmsdocs.profile.schema import schema_text

    text = schema_text()
    if output is None:
        click.echo(text, nl=False)
        return
    from qmsdocs.paths import atomic_write

    atomic_write(output, text.encode("utf-8"))
    click.echo(f"wrote {output}")


@main.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--force", is_flag=True, help="Write into a folder that is not empty (overwrites qmsdocs' files)."
)
@handle_errors
def init_command(directory: Path, force: bool) -> None:
    """Create a consultant workspace in DIRECTORY: config, example profile, a template override, schema."""
    from qmsdocs.library.workspace import init_workspace

    written = init_workspace(directory, bundled_profiles_dir(), force=force)
    for path in written:
        click.echo(f"  {path}")
    click.echo(f"workspace ready in {directory}; next: cd {directory} && qmsdocs build profiles/*.yaml")
