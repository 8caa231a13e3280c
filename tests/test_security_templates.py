"""Templates are untrusted (issue #18, items 1, 3, 7, 8, 10): they reach only the template API, their
renders are bounded, profile text cannot make Markdown structure, charts have ASCII names, and a process
keeps only a bounded number of profiles whatever it builds.

Limits are turned down in these tests (RenderLimits given to render(), or a [limits] table in a
qmsdocs.toml), so each attack fails fast; every failure is a TemplateError at the template's file:line.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner
from jinja2.runtime import LoopContext, Undefined
from jinja2.utils import Cycler, Joiner, Namespace
from markupsafe import Markup

import qmsdocs
from qmsdocs.batch import workers
from qmsdocs.cli import main
from qmsdocs.config import DEFAULT_LIMITS, RenderLimits
from qmsdocs.errors import TemplateError
from qmsdocs.library import render, sandbox, watchdog
from qmsdocs.library.layers import TemplateLibrary
from qmsdocs.library.plan import plan
from qmsdocs.library.render import chart_name
from qmsdocs.markdown import nodes
from qmsdocs.markdown import tree as markdown
from qmsdocs.markdown.escape import escape_markdown
from qmsdocs.profile.models import Profile, load_profile

ProfileCopy = Callable[[str], Path]

HEADER = "---\nid: X-01\ntitle: Hostile\ncategory: procedure\n---\nA first line.\n"
LINE = 7  # the line after the header
#: small limits, so that every attack fails at once
SMALL = RenderLimits(seconds=5, output_chars=200_000, items=10_000, memory_bytes=200_000_000)
HINT = " (limit: {} in the [limits] table of qmsdocs.toml)"


def stamp(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def hostile(folder: Path, body: str) -> Path:
    """A template layer holding one document template whose body (from line 7) is *body*."""
    target = folder / "layer/procedures/hostile.md.j2"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(HEADER + body + "\n", encoding="utf-8")
    return folder / "layer"


def render_hostile(folder: Path, profile: Profile, body: str, limits: RenderLimits = SMALL) -> str:
    library = TemplateLibrary([hostile(folder, body)])
    the_plan = plan(profile, library)
    spec = the_plan.get("X-01")
    assert spec is not None
    return render.render(spec, profile, the_plan, library, limits).text


def failure(folder: Path, profile: Profile, body: str, limits: RenderLimits = SMALL) -> str:
    """The message of the TemplateError the body raises, after checking it names the file and line."""
    with pytest.raises(TemplateError) as caught:
        render_hostile(folder, profile, body, limits)
    error = caught.value
    assert error.template == str(folder / "layer/procedures/hostile.md.j2")
    assert error.line == LINE, str(error)
    assert str(error).startswith(f"{error.template}:{LINE}: ")
    return error.message


# -- item 1: the template API ------------------------------------------------------------------------

#: Every callable a template can reach that is not a method of plain data (text, numbers, lists,
#: mappings, dates: Jinja's rules), by qualified name. A change here is a change of the template API.
TEMPLATE_API = {
    "DocumentSet.addressing",
    "DocumentSet.has",
    "DocumentSet.number",
    "DocumentSet.ref",
    "ProcessMap.of_type",
    "Profile.applies",
    "Profile.person",
    "Registers.band",
    "context.<locals>.chart",
    "context.<locals>.role",
    "class Md",
    # Jinja's globals and what they make
    "Sandbox._range",
    "Sandbox._lipsum",
    "class dict",
    "class Cycler",
    "class Joiner",
    "class Namespace",
    "Cycler.next",
    "Cycler.reset",
    "LoopContext.cycle",
    "LoopContext.changed",
    "LoopContext()",  # loop(...) of a recursive loop
    "Joiner()",
}
#: Classes a template may call (each makes plain data); no other class is reachable.
CALLABLE_CLASSES = {"Md", "dict", "Cycler", "Joiner", "Namespace"}
FILTERS = {
    # Jinja's
    *[
        "abs",
        "attr",
        "batch",
        "capitalize",
        "center",
        "count",
        "d",
        "default",
        "dictsort",
        "e",
        "escape",
        "filesizeformat",
        "first",
        "float",
    ],
    *[
        "forceescape",
        "format",
        "groupby",
        "indent",
        "int",
        "items",
        "join",
        "last",
        "length",
        "list",
        "lower",
        "map",
        "max",
        "min",
        "pprint",
    ],
    *[
        "random",
        "reject",
        "rejectattr",
        "replace",
        "reverse",
        "round",
        "safe",
        "select",
        "selectattr",
        "slice",
        "sort",
        "string",
    ],
    *[
        "striptags",
        "sum",
        "title",
        "tojson",
        "trim",
        "truncate",
        "unique",
        "upper",
        "urlencode",
        "urlize",
        "wordcount",
        "wordwrap",
    ],
    "xmlattr",
    # qmsdocs'
    *["join_and", "cell", "md", "escape_md", "person"],
}


def _api_name(value: Any) -> str:
    if isinstance(value, type):
        return f"class {value.__qualname__}"
    owner = getattr(value, "__self__", None)
    if owner is not None and not isinstance(owner, ModuleType):
        kind = owner if isinstance(owner, type) else type(owner)
        return f"{kind.__qualname__}.{value.__name__}"
    if not hasattr(value, "__qualname__"):  # an object that can be called
        return f"{type(value).__qualname__}()"
    return str(value.__qualname__)


def _is_plain_method(value: Any) -> bool:
    """A method of plain data, or a class method of a plain type (``dict.fromkeys``): Jinja's rules."""
    owner = getattr(value, "__self__", None)
    if isinstance(value, type) or isinstance(owner, ModuleType):
        return False
    if owner is None:  # a static method: str.maketrans
        return str(getattr(value, "__qualname__", "")).split(".")[0] in {
            t.__name__ for t in sandbox.PLAIN_TYPES
        }
    kind = owner if isinstance(owner, type) else type(owner)
    return kind in sandbox.PLAIN_TYPES or (isinstance(kind, type) and issubclass(kind, Markup))


class Walk:
    """Everything a template can reach from some objects, through the attributes the sandbox allows."""

    def __init__(self, library: TemplateLibrary) -> None:
        self.env = library.env
        assert isinstance(self.env, sandbox.Sandbox)
        self.callables: dict[str, tuple[str, Any]] = {}  # API name -> (a path that reaches it, it)
        self.types: set[str] = set()  # names of the types of every object reached
        self.seen: set[int] = set()
        self.plain_types: set[type] = set()
        self.keep: list[Any] = []  # objects made by sample calls stay alive, so ids are not reused

    def reach(self, value: Any, path: str) -> None:
        if callable(value):
            self.callables.setdefault(_api_name(value), (path, value))
            if isinstance(value, type):
                return
        self.walk(value, path)

    def walk(self, obj: Any, path: str, depth: int = 0) -> None:
        if id(obj) in self.seen or depth > 15 or isinstance(obj, Undefined):
            return
        self.seen.add(id(obj))
        kind = type(obj)
        self.types.add(kind.__name__)
        plain = kind in sandbox.PLAIN_TYPES or isinstance(obj, Markup)
        if plain:
            items: list[Any] = []
            if isinstance(obj, dict):
                items = [*obj.keys(), *obj.values()]
            elif isinstance(obj, list | tuple | set | frozenset):
                items = list(obj)
            for index, item in enumerate(items[:40]):
                self.walk(item, f"{path}[{index}]", depth + 1)
            if kind in self.plain_types:  # the attributes of plain data depend on its type only
                return
            self.plain_types.add(kind)
        for name in dir(obj):
            with warnings.catch_warnings():  # pydantic warns about its deprecated attributes
                warnings.simplefilter("ignore")
                try:
                    value = getattr(obj, name)
                except Exception:
                    continue
                allowed = self.env.getattr(obj, name)
            if isinstance(allowed, Undefined):
                continue
            if not plain:  # nothing but the listed API: never pydantic's or Python's own attributes
                assert not name.startswith("_"), f"{path}.{name}"
            self.reach(value, f"{path}.{name}")


def _sample_calls(context: dict[str, Any], profile: Profile) -> list[tuple[str, Any]]:
    """Results of the API's calls, with typical arguments (they are reachable objects too)."""
    documents = context["documents"]
    key = next(iter(profile.people))
    calls = [
        ("person(...)", context["person"](key)),
        ("role('quality_manager')", context["role"]("quality_manager")),
        ("documents.addressing('9.2')", documents.addressing("9.2")),
        ("process_map.of_type('core')", context["process_map"].of_type("core")),
        ("registers.band(12)", context["registers"].band(12)),
        ("cycler(1, 2)", Cycler(1, 2)),
        ("joiner()", Joiner()),
        ("namespace(a=1)", Namespace(a=1)),
        ("loop", LoopContext(iter([1, 2]), lambda name: None)),
    ]
    if context["assessment"] is not None:
        calls.append(("chart('radar')", context["chart"]("radar")))
    return calls


@pytest.mark.parametrize("name", ["brightwater.yaml", "minimal.yaml"])
def test_every_reachable_callable_is_in_the_template_api(profiles_dir: Path, name: str) -> None:
    profile = load_profile(profiles_dir / name)
    library = TemplateLibrary([])
    render.configure(library)
    the_plan = plan(profile, library)
    walk = Walk(library)
    for key, value in library.env.globals.items():
        walk.reach(value, key)
    for spec in the_plan.documents:
        context = render.context(spec, profile, the_plan, {})
        for key, value in context.items():
            walk.reach(value, key)
        for path, value in _sample_calls(context, profile):
            walk.keep.append(value)
            walk.reach(value, path)
    api = {name for name, (path, value) in walk.callables.items() if not _is_plain_method(value)}
    assert api == TEMPLATE_API, {name: walk.callables[name][0] for name in api ^ TEMPLATE_API if name in api}
    classes = {name.removeprefix("class ") for name in walk.callables if name.startswith("class ")}
    assert classes == CALLABLE_CLASSES
    assert set(library.env.filters) == FILTERS
    # the walk went everywhere: the profile's models, the helpers' dataclasses, paths, Jinja's objects
    assert {
        "Profile",
        "Person",
        "DocumentMeta",
        "Signatory",
        "PosixPath",
        "Cycler",
        "LoopContext",
    } <= walk.types
    if profile.self_assessment is not None:
        assert {"Assessment", "ElementRating", "PlanRow", "RankedRisk", "Link", "Indicator"} <= walk.types


def test_the_walk_sees_pydantic_and_python_internals_refused(profiles_dir: Path) -> None:
    profile = load_profile(profiles_dir / "brightwater.yaml")
    library = TemplateLibrary([])
    env = library.env
    person = profile.people[next(iter(profile.people))]
    for obj in (profile, person, profile.organisation):
        for name in (
            "parse_raw",
            "parse_file",
            "parse_obj",
            "model_validate",
            "model_validate_json",
            "model_construct",
            "construct",
            "copy",
            "model_copy",
            "dict",
            "json",
            "model_dump",
            "model_dump_json",
            "schema",
            "schema_json",
            "model_json_schema",
            "model_fields",
            "model_config",
            "from_orm",
            "validate",
            "update_forward_refs",
            "model_rebuild",
            "__class__",
            "__init__",
            "__dict__",
        ):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                assert isinstance(env.getattr(obj, name), Undefined), name
    assert isinstance(env.getattr(profile.source, "read_text"), Undefined)
    assert env.getattr(profile.source, "name") == "brightwater.yaml"
    assert isinstance(env.getattr(render.Md, "escape"), Undefined)  # nothing of a class
    assert isinstance(env.getattr(load_profile, "__globals__"), Undefined)


PERSON = "email, name, title"
PROFILE = (
    "applies, branding, context, customer_satisfaction, document_control, excluded, internal_audit, "
    "management_review, opportunities, organisation, output, people, person, processes, quality_objectives, "
    "quality_policy, risks, roles, schema_version, scope, self_assessment, source, templates"
)
ORG = "address, description, employees, industry, name, short_name, sites, website"
#: name -> (template line, what it reaches: "Class.attribute", what the class offers instead or "")
PAYLOADS = {
    "pickle via parse_raw": (
        '{{{{ person("{key}").parse_raw({pickle}, proto="pickle", allow_pickle=True) }}}}',
        "Person.parse_raw",
        PERSON,
    ),
    "parse_file": ('{{{{ person("{key}").parse_file("{secret}") }}}}', "Person.parse_file", PERSON),
    "parse_file on the profile": ('{{{{ profile.parse_file("{secret}") }}}}', "Profile.parse_file", PROFILE),
    "model_validate_json": (
        '{{{{ org.model_validate_json(\'{{"name": "x"}}\') }}}}',
        "Organisation.model_validate_json",
        ORG,
    ),
    "model_construct": (
        "{{{{ profile.model_construct().organisation }}}}",
        "Profile.model_construct",
        PROFILE,
    ),
    "copy": ("{{{{ org.copy(update={{'name': 'x'}}).name }}}}", "Organisation.copy", ORG),
    "dict": ("{{{{ org.dict() }}}}", "Organisation.dict", ORG),
    "json": ("{{{{ org.json() }}}}", "Organisation.json", ORG),
    "model_dump": ("{{{{ profile.model_dump() }}}}", "Profile.model_dump", PROFILE),
    "model_dump_json": ("{{{{ profile.model_dump_json() }}}}", "Profile.model_dump_json", PROFILE),
    "__class__": ("{{{{ org.__class__ }}}}", "Organisation.__class__", ORG),
    "model_fields": ("{{{{ org.model_fields }}}}", "Organisation.model_fields", ORG),
    "a method of a dataclass": ("{{{{ doc.error(1, 'x') }}}}", "DocumentMeta.error", None),
    "a helper's private state": (
        "{{{{ documents._plan }}}}",
        "DocumentSet._plan",
        "addressing, all, has, number, omitted, ref",
    ),
    "a function's globals": ("{{{{ role.__globals__ }}}}", "function.__globals__", ""),
    "a class's methods": ("{{{{ Md.escape('x') }}}}", "Md.escape", ""),
    "a path's methods": ("{{{{ profile.source.read_text() }}}}", "PosixPath.read_text", ""),
}


class Exploit:
    """Unpickling this would create the file *marker*."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def _payload(name: str, tmp_path: Path, profile: Profile) -> str:
    marker, secret = tmp_path / "pwned", tmp_path / "secret.json"
    secret.write_text('{"name": "SECRET CONTENT"}', encoding="utf-8")
    data = pickle.dumps(Exploit(marker), protocol=0).decode("ascii")
    return PAYLOADS[name][0].format(key=next(iter(profile.people)), pickle=json.dumps(data), secret=secret)


@pytest.mark.parametrize("name", PAYLOADS)
def test_payload_is_a_template_error_and_runs_nothing(tmp_path: Path, minimal: Profile, name: str) -> None:
    _, reached, offered = PAYLOADS[name]
    message = failure(tmp_path, minimal, _payload(name, tmp_path, minimal))
    if offered is None:  # a long list: the fields of the dataclass
        assert message.startswith(
            f"not allowed in a template: {reached} is not part of the template API (it has: "
        )
    else:
        hint = f" (it has: {offered})" if offered else ""
        assert message == f"not allowed in a template: {reached} is not part of the template API{hint}"
    assert "SECRET" not in message
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("name", ["pickle via parse_raw", "parse_file", "model_dump_json", "__class__"])
def test_cli_payload_exits_1_and_touches_nothing(
    runner: CliRunner, tmp_path: Path, profile_copy: ProfileCopy, name: str
) -> None:
    profile = profile_copy("minimal.yaml")
    layer = hostile(tmp_path, _payload(name, tmp_path, load_profile(profile)))
    canary = tmp_path / "canary.txt"
    canary.write_text("keep", encoding="utf-8")
    before = stamp(canary)
    out = tmp_path / "out"
    result = runner.invoke(main, ["build", str(profile), "-f", "md", "-o", str(out), "-t", str(layer)])
    assert result.exit_code == 1
    assert f"{layer / 'procedures/hostile.md.j2'}:{LINE}: not allowed in a template: " in result.stderr
    assert "Traceback" not in result.output
    assert "SECRET" not in result.output
    assert not (tmp_path / "pwned").exists()
    assert stamp(canary) == before
    assert not (out / "minimal").exists()


def test_pydantic_model_reads_only_fields_and_listed_api(tmp_path: Path, minimal: Profile) -> None:
    body = (
        "{{ org.name }}|{{ profile.applies('8.3') }}|{{ role('quality_manager').name }}|"
        "{{ profile.excluded | length }}|{{ profile.source.name }}"
    )
    text = render_hostile(tmp_path, minimal, body)
    assert "Lindqvist Machining AB|no|Jonas Berg|1|minimal.yaml" in text


def test_printing_an_object_without_text_form_is_an_error(tmp_path: Path, minimal: Profile) -> None:
    assert failure(tmp_path, minimal, "{{ doc }}") == "cannot print a DocumentMeta; print one of its fields"
    assert (
        failure(tmp_path, minimal, "{{ namespace(a=1) }}")
        == "cannot print a Namespace; print one of its fields"
    )


# -- item 3: bounded renders -------------------------------------------------------------------------


def items_message(what: str, size: int, limit: int = SMALL.items) -> str:
    return f"{what} would make at least {size:,} characters or items; the limit is {limit:,}" + HINT.format(
        "render_items"
    )


def over_message(what: str, limit: int = SMALL.items) -> str:
    return f"{what} is more than the limit of {limit:,}" + HINT.format("render_items")


ATTACKS: dict[str, tuple[str, str]] = {
    "repetition": ("{{ 'x' * 10**9 }}", items_message("'*' repetition", 10**9)),
    "list repetition": ("{{ ([1] * 10**9) | length }}", items_message("'*' repetition", 10**9)),
    "~ doubling in a loop": (
        "{% set ns = namespace(s='x' * 5000) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        items_message("'~'", 20_000),
    ),
    "+ doubling in a loop": (
        "{% set ns = namespace(s='x' * 5000) %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
        items_message("'+'", 20_000),
    ),
    "repeated squaring": (
        "{% set ns = namespace(n=7) %}{% for i in range(40) %}{% set ns.n = ns.n * ns.n %}{% endfor %}",
        "the number would have more than 100,000 bits",
    ),
    "huge power": ("{{ 7 ** 100000000 }}", "the number would have more than 100,000 bits"),
    "%-format width": (
        '{{ "%1000000000d" % 1 }}',
        over_message("a width or precision of 1,000,000,000 in '%' formatting"),
    ),
    "%-format star width": (
        '{{ "%*d" % (10**9, 1) }}',
        over_message("a width or precision of 1,000,000,000 in '%' formatting"),
    ),
    "%-format precision": (
        '{{ "%.1000000f" % 1.5 }}',
        over_message("a width or precision of 1,000,000 in '%' formatting"),
    ),
    "%-format of a list": ('{{ "%s" % ([("y" * 9000)] * 1000,) }}', items_message("'%' formatting", 18_008)),
    "str.format width": (
        '{{ "{:>1000000000}".format(1) }}',
        over_message("a width or precision of 1,000,000,000 in a format spec"),
    ),
    "str.format nested width": (
        '{{ "{:{}}".format("x", 10**9) }}',
        over_message("a width or precision of 1,000,000,000 in a format spec"),
    ),
    "format_map": (
        '{{ "{a:>99999}".format_map({"a": 1}) }}',
        over_message("a width or precision of 99,999 in a format spec"),
    ),
    "center filter": ("{{ 'x' | center(10**9) }}", over_message("a width of 1,000,000,000")),
    "center method": ("{{ 'x'.center(10**9) }}", over_message("a width of 1,000,000,000")),
    "ljust": ("{{ 'x'.ljust(10**9) }}", over_message("a width of 1,000,000,000")),
    "rjust": ("{{ 'x'.rjust(10**9) }}", over_message("a width of 1,000,000,000")),
    "zfill": ("{{ '1'.zfill(10**9) }}", over_message("a width of 1,000,000,000")),
    "expandtabs": ("{{ 'a\\tb'.expandtabs(10**9) }}", items_message("expandtabs()", 1_000_000_003)),
    "indent": ("{{ 'a\\nb' | indent(10**9) }}", items_message("the filter 'indent'", 2_000_000_003)),
    "wordwrap": (
        "{{ ('a ' * 4000) | wordwrap(1, wrapstring='x' * 9000) }}",
        items_message("the filter 'wordwrap'", 72_017_000),
    ),
    "format filter": (
        '{{ "%1000000000s" | format("x") }}',
        over_message("a width or precision of 1,000,000,000 in '%' formatting"),
    ),
    "replace": (
        "{{ ('a' * 5000) | replace('a', 'b' * 5000) }}",
        items_message("the filter 'replace'", 25_000_000),
    ),
    "replace method": ("{{ ('a' * 5000).replace('a', 'b' * 5000) }}", items_message("replace()", 25_000_000)),
    "join of references": (
        "{{ ([('y' * 9000)] * 1000) | join }}",
        items_message("the filter 'join'", 18_006),
    ),
    "a list as text": (
        "{{ ([('y' * 9000)] * 1000) | string }}",
        items_message("the text of the value", 18_006),
    ),
    "a list in ~": ("{{ 'a' ~ ([('y' * 9000)] * 1000) }}", items_message("'~'", 18_007)),
    "join method": ("{{ ('y' * 9000).join(['a'] * 1000) }}", items_message("join()", 9_003_002)),
    "to_bytes": ("{{ (1).to_bytes(10**9, 'big') | length }}", items_message("to_bytes()", 10**9)),
    "batch fill": (
        "{{ [1] | batch(10**9, 'x') | list | length }}",
        over_message("the filter 'batch' with 1,000,000,000"),
    ),
    "sum of lists": (
        "{{ ([[1] * 9000] * 100) | sum(start=[]) | length }}",
        items_message("the filter 'sum'", 900_000),
    ),
    "append past the limit": (
        "{% set l = [1] * 10000 %}{% if l.append(2) %}{% endif %}",
        over_message("a list of 10,001 items"),
    ),
    "lipsum": ("{{ lipsum(10**6) }}", items_message("lipsum()", 1_200_000_000)),
    "range": (
        "{{ range(10**9) | length }}",
        "range() of 1,000,000,000 numbers is more than the limit of 10,000" + HINT.format("render_items"),
    ),
    "include of many names": (
        "{% include ['x.j2'] * 5000 %}",
        items_message("the list of template names", 10_004),
    ),
}


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_is_stopped_before_it_allocates(tmp_path: Path, minimal: Profile, name: str) -> None:
    body, expected = ATTACKS[name]
    started = time.monotonic()
    assert failure(tmp_path, minimal, body) == expected
    assert time.monotonic() - started < 1.5


def test_nested_loops_that_call_nothing_stop_at_the_time_limit(tmp_path: Path, minimal: Profile) -> None:
    body = "{% for i in range(10000) %}{% for j in range(10000) %}{% for k in range(10000) %}{% endfor %}{% endfor %}{% endfor %}"
    started = time.monotonic()
    message = failure(tmp_path, minimal, body, RenderLimits(seconds=0.3))
    assert message == "the template ran longer than 0.3 s" + HINT.format("render_seconds")
    assert 0.3 <= time.monotonic() - started < 1.5


def test_time_limit_holds_in_another_thread_and_leaves_nothing_behind(
    tmp_path: Path, minimal: Profile
) -> None:
    body = "{% for i in range(10000) %}{% for j in range(10000) %}{% for k in range(10000) %}{% endfor %}{% endfor %}{% endfor %}"
    outcome: list[str] = []

    def run() -> None:
        try:
            failure(tmp_path, minimal, body, RenderLimits(seconds=0.2))
            outcome.append("stopped")
            time.sleep(0.3)  # several watchdog ticks: nothing may be raised after the render
            outcome.append("quiet after")
        except BaseException as error:
            outcome.append(repr(error))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(5)
    assert outcome == ["stopped", "quiet after"]


def test_a_render_that_finishes_in_time_is_not_stopped_later(tmp_path: Path, minimal: Profile) -> None:
    text = render_hostile(tmp_path, minimal, "{{ 'ok' }}", RenderLimits(seconds=0.1))
    assert "ok" in text
    time.sleep(0.35)  # past the deadline of that render: the watchdog must have forgotten it
    assert sum(range(1000)) == 499500


def test_output_grows_past_the_limit(tmp_path: Path, minimal: Profile) -> None:
    body = "{% for i in range(10000) %}{{ 'abcdefghij' }}{% endfor %}"
    message = failure(tmp_path, minimal, body, RenderLimits(output_chars=50_000))
    assert message == "the document grew past 0.05 MB of text" + HINT.format("render_output_mb")


def test_macro_output_is_checked_before_it_is_joined(tmp_path: Path, minimal: Profile) -> None:
    body = (
        "{% macro m() %}{% for i in range(10000) %}{{ 'abcdefghij' }}{% endfor %}{% endmacro %}"
        "{% set x = m() %}{{ x | length }}"
    )
    message = failure(tmp_path, minimal, body, RenderLimits(output_chars=50_000))
    assert message == "a macro, block or {% set %} captured more than 0.05 MB of text" + HINT.format(
        "render_output_mb"
    )


def test_memory_limit_stops_a_render_that_keeps_what_it_builds(tmp_path: Path, minimal: Profile) -> None:
    body = (
        "{% set ns = namespace(l=[]) %}{% for i in range(10000) %}{% for j in range(10000) %}"
        "{% set ns.l = [ns.l, 'x' * 9999 ~ i ~ j] %}{% endfor %}{% endfor %}"
    )
    message = failure(tmp_path, minimal, body, RenderLimits(seconds=10, memory_bytes=40_000_000))
    assert message == "the render took more than 40 MB of memory" + HINT.format("render_memory_mb")


def test_ordinary_templates_are_untouched_by_the_checks(tmp_path: Path, minimal: Profile) -> None:
    body = (
        "{{ '%05.1f|%s|%%' % (3.14159, 'x') }}|{{ '%(a)s' % {'a': 1} }}|{{ '{:>5}|{:.2f}'.format('a', 2) }}"
        "|{{ 'ab' | center(6) }}|{{ [1, 2] | join(', ') }}|{{ (['a'] * 3) | join }}|{{ 'x' ~ 1 ~ none }}"
        "|{% set l = [] %}{% if l.append(1) %}{% endif %}{{ l | length }}|{{ range(3) | sum }}"
        "|{{ lipsum(1, false, 5, 6) | wordcount | string | length }}|{{ [[1], [2]] | sum(start=[]) | length }}"
    )
    text = render_hostile(tmp_path, minimal, body)
    # (a printed value's leading spaces become one: at the start of a line they would be a code block)
    assert "003.1\\|x\\|%|1| a\\|2.00| ab  |1, 2|aaa|x1None|1|3|1|2" in text


def _limits_workspace(tmp_path: Path, profile_copy: ProfileCopy, body: str, table: str) -> tuple[Path, Path]:
    """qmsdocs.toml with a [limits] table, a hostile client (its own templates: folder) and a good one."""
    bad = profile_copy("minimal.yaml")
    hostile(bad.parent / "client", body)
    bad.write_text(bad.read_text(encoding="utf-8") + "templates: client/layer\n", encoding="utf-8")
    config = tmp_path / "qmsdocs.toml"
    config.write_text(f"[limits]\n{table}\n", encoding="utf-8")
    return config, bad


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_config_limits_reach_the_batch_and_only_the_bad_profile_fails(
    runner: CliRunner, tmp_path: Path, profile_copy: ProfileCopy, jobs: str
) -> None:
    good = profile_copy("minimal.yaml").with_name("good.yaml")
    good.write_text(profile_copy("minimal.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    config, bad = _limits_workspace(
        tmp_path, profile_copy, "{{ 'x' * 2000 }}", "render_items = 1000\nrender_seconds = 5"
    )
    canary = tmp_path / "canary.txt"
    canary.write_text("keep", encoding="utf-8")
    before = stamp(canary)
    out = tmp_path / "out"
    args = ["--config", str(config), "build", str(bad), str(good), "-f", "md", "-o", str(out), "-j", jobs]
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    where = bad.parent / "client/layer/procedures/hostile.md.j2"
    expected = items_message("'*' repetition", 2000, 1000)
    assert f"{where}:{LINE}: {expected}" in result.stderr
    assert "1 profile built, 1 failed" in result.output
    assert (out / "good/manifest.json").is_file()
    assert not (out / "minimal").exists()
    assert stamp(canary) == before
    assert not multiprocessing.active_children()


def test_time_limit_in_forked_workers(runner: CliRunner, tmp_path: Path, profile_copy: ProfileCopy) -> None:
    render_hostile(
        tmp_path / "warm", load_profile(profile_copy("minimal.yaml")), "x"
    )  # the watchdog runs here
    good = profile_copy("minimal.yaml").with_name("good.yaml")
    good.write_text(profile_copy("minimal.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    loops = "{% for i in range(10000) %}{% for j in range(10000) %}{% for k in range(10000) %}{% endfor %}{% endfor %}{% endfor %}"
    config, bad = _limits_workspace(tmp_path, profile_copy, loops, "render_seconds = 0.3")
    out = tmp_path / "out"
    result = runner.invoke(
        main, ["--config", str(config), "build", str(bad), str(good), "-f", "md", "-o", str(out), "-j", "2"]
    )
    assert result.exit_code == 1
    where = bad.parent / "client/layer/procedures/hostile.md.j2"
    assert (
        f"{where}:{LINE}: the template ran longer than 0.3 s" + HINT.format("render_seconds") in result.stderr
    )
    assert "1 profile built, 1 failed" in result.output
    assert watchdog.WATCHDOG._thread is None  # stopped before the fork: the pool forked one thread
    assert not multiprocessing.active_children()


@pytest.mark.parametrize(
    ("table", "problems"),
    [
        (
            "[limits]\nrender_itms = 3\nrender_seconds = 0\nrender_items = 2.5\nrender_memory_mb = true\n",
            [
                "{f}:2: limits.render_itms: unknown key; did you mean 'render_items'?",
                "{f}:3: limits.render_seconds: must be a number greater than 0 (seconds one document's render may take, default 10)",
                "{f}:4: limits.render_items: must be a whole number greater than 0 (characters of any one text or items of any one list a template builds, default 1000000)",
                "{f}:5: limits.render_memory_mb: must be a number greater than 0 (megabytes of memory one document's render may add to its process, default 256)",
            ],
        ),
        ("limits = 5\n", ["{f}:1: limits: must be a table, e.g. [limits] with render_seconds = 10"]),
    ],
)
def test_limits_table_errors_name_file_line_and_key(tmp_path: Path, table: str, problems: list[str]) -> None:
    from qmsdocs.config import parse_config
    from qmsdocs.errors import ConfigError

    file = tmp_path / "qmsdocs.toml"
    with pytest.raises(ConfigError) as caught:
        parse_config(table, file)
    assert str(caught.value).splitlines() == [p.format(f=file) for p in problems]


def test_limits_table_values_and_units(tmp_path: Path) -> None:
    from qmsdocs.config import parse_config

    text = "output = 'out'\n[limits]\nrender_seconds = 2.5\nrender_output_mb = 0.5\nrender_items = 7000\nrender_memory_mb = 64\n"
    config = parse_config(text, tmp_path / "qmsdocs.toml")
    assert config.limits == RenderLimits(
        seconds=2.5, output_chars=500_000, items=7000, memory_bytes=64_000_000
    )
    assert parse_config("limits = {render_items = 9}\n", tmp_path / "q.toml").limits == RenderLimits(items=9)
    assert parse_config("", tmp_path / "q.toml").limits == DEFAULT_LIMITS


def test_default_limits_without_config(tmp_path: Path, minimal: Profile) -> None:
    assert RenderLimits(10.0, 5_000_000, 1_000_000, 256_000_000) == DEFAULT_LIMITS
    # the 1,000,000 of the default limit, not the small one of these tests
    assert render_hostile(tmp_path, minimal, "{{ ('x' * 999999) | length }}", DEFAULT_LIMITS).endswith(
        "999999\n"
    )
    assert failure(tmp_path, minimal, "{{ 'x' * 1000001 }}", DEFAULT_LIMITS) == items_message(
        "'*' repetition", 1_000_001, 1_000_000
    )


def test_render_uses_the_module_default_when_given_no_limits(
    tmp_path: Path, minimal: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("qmsdocs.config.DEFAULT_LIMITS", RenderLimits(items=100))
    library = TemplateLibrary([hostile(tmp_path, "{{ 'x' * 101 }}")])
    the_plan = plan(minimal, library)
    with pytest.raises(TemplateError, match="the limit is 100 "):
        render.render(the_plan.get("X-01"), minimal, the_plan, library)  # type: ignore[arg-type]


# -- item 7: profile text makes no Markdown structure ------------------------------------------------

HOSTILE_STATEMENT = (
    "Machining.\n\n# Injected heading\n- item\n1. item\n> quote\n---\n    indented code\n"
    "| pipe | row |\n+ plus\n=====\r\n\r\nend"
)
STATEMENT_LINES = [
    "Machining.",
    "# Injected heading",
    "- item",
    "1. item",
    "> quote",
    "---",
    "indented code",
    "| pipe | row |",
    "+ plus",
    "=====",
    "end",
]


def test_escape_markdown_units() -> None:
    assert escape_markdown("plain text") == "plain text"
    assert escape_markdown("7.1.5") == "7.1.5"
    assert escape_markdown("# Injected") == "\\# Injected"
    assert escape_markdown("1. item") == "1\\. item"
    assert escape_markdown("    code") == " code"
    assert escape_markdown(" big thing") == " big thing"  # what a template's slice of a value keeps
    assert escape_markdown("a\n\n- b\r\n= c\r+ d") == "a \\- b \\= c \\+ d"
    assert escape_markdown("a \n\n    b", "\\\n") == "a\\\nb"
    assert escape_markdown("x | *y*") == "x \\| \\*y\\*"
    assert escape_markdown("nul\x00") == "nul\ufffd"


def test_hostile_profile_text_stays_text_in_markdown_and_docx(
    tmp_path: Path, profile_copy: ProfileCopy
) -> None:
    import docx

    source = profile_copy("minimal.yaml")
    text = source.read_text(encoding="utf-8").replace(
        "  statement: Machining of steel and aluminium parts to customer drawings.\n",
        f"  statement: {json.dumps(HOSTILE_STATEMENT)}\n"
        '  products_and_services: ["# Injected product", "- listy", "Tools\\r\\n\\r\\n## Sub"]\n',
    )
    text += (
        "quality_objectives:\n"
        '  - objective: "Deliver on time\\n# Injected objective"\n'
        "    indicator: On-time deliveries\n"
        '    target: ">= 95 %"\n'
    )
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    report = qmsdocs.build([source], out, jobs=1)
    assert report.ok, report.profiles[0].errors
    folder = out / "minimal"
    for md_file in folder.glob("*.md"):
        body = md_file.read_text(encoding="utf-8").split("\n---\n", 1)[1]  # after the front matter
        tree = markdown.parse(body)
        kinds = {node.type for node in tree.walk()}
        assert not kinds & {"code_block", "fence", "blockquote", "hr", "html_block"}, md_file.name
        for heading in nodes.headings(tree):
            words = "".join(n.content for n in heading.walk() if n.type == "text")
            assert "Injected heading" not in words, md_file.name
            assert words.strip() != "Sub", md_file.name
    manual = next(folder.glob("*Quality manual.md")).read_text(encoding="utf-8")
    assert "\\# Injected heading\\\n\\- item\\\n1\\. item\\\n\\> quote" in manual
    objectives = next(folder.glob("*POL-02*.md")).read_text(encoding="utf-8")
    assert "## O1 Deliver on time \\# Injected objective\n" in objectives  # a heading stays one line

    document = docx.Document(str(next(folder.glob("*Quality manual.docx"))))
    paragraphs = [(p.style.name, p.text) for p in document.paragraphs]
    statement = [(style, body) for style, body in paragraphs if body.startswith("Machining.")]
    assert statement, paragraphs
    for style, body in statement:
        assert body.split("\n") == STATEMENT_LINES
        assert not style.startswith(("Heading", "List", "Source", "Block"))
    assert not any("Injected" in body and style.startswith("Heading") for style, body in paragraphs)
    plan_doc = docx.Document(str(next(folder.glob("*POL-02*.docx"))))
    headings = [p.text for p in plan_doc.paragraphs if p.style.name.startswith("Heading")]
    assert "O1 Deliver on time # Injected objective" in headings


# -- item 8: chart names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "doc_id", "expected"),
    [
        ("BWI-RPT-01", "RPT-01", "BWI-RPT-01"),
        ("ÖÅA-RPT-01", "RPT-01", "OAA-RPT-01"),
        ("^`x`-RPT-01", "RPT-01", "x-RPT-01"),
        ("日本-RPT-01", "RPT-01", "RPT-01"),
        ("A B/../C-RPT-01", "RPT-01", "A-B-C-RPT-01"),
        ("ＡＢ-RPT-01", "RPT-01", "AB-RPT-01"),
    ],
)
def test_chart_names_are_plain_ascii(number: str, doc_id: str, expected: str) -> None:
    assert chart_name(number, doc_id) == expected


def test_non_ascii_organisation_builds_its_charts(tmp_path: Path, profile_copy: ProfileCopy) -> None:
    source = profile_copy("brightwater.yaml")
    text = source.read_text(encoding="utf-8")
    text = text.replace("Brightwater Instruments Ltd", "Östgöta Åkeri AB").replace(
        "prefix: BWI", "prefix: ''"
    )
    source.write_text(text, encoding="utf-8")
    report = qmsdocs.build([source], tmp_path / "out", jobs=1)
    assert report.ok, report.profiles[0].errors
    charts = sorted(p.name for p in (tmp_path / "out/brightwater/charts").iterdir())
    assert charts, "no chart written"
    assert all(name.isascii() for name in charts), charts


# -- item 10: what a process keeps -------------------------------------------------------------------


def test_a_process_keeps_a_bounded_number_of_profiles(
    tmp_path: Path, profile_copy: ProfileCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers, "KEEP_PROFILES", 2)
    monkeypatch.setattr(workers, "KEEP_LIBRARIES", 1)
    monkeypatch.setattr(render, "KEEP_PROFILES", 2)
    monkeypatch.setattr(markdown, "_INLINE_LIMIT", 50)
    minimal = profile_copy("minimal.yaml")
    sources = []
    for index in range(5):
        path = minimal.with_name(f"client-{index}.yaml")
        text = minimal.read_text(encoding="utf-8").replace("Lindqvist", f"Lindqvist {index}")
        if index % 2:  # a client folder of its own makes another template library
            (path.parent / f"layer-{index}").mkdir()
            text += f"templates: layer-{index}\n"
        path.write_text(text, encoding="utf-8")
        sources.append(path)
    sizes: list[tuple[int, ...]] = []

    def watch(progress: Any) -> None:
        if not progress.profiles_done:  # the first call comes before the build resets the caches
            return
        sizes.append(
            (
                len(workers._profiles),
                len(workers._libraries),
                len(workers._template_hashes_cache),
                len(render._FACTS),
                len(render._DOCUMENT_SETS),
                len(markdown._INLINE),
            )
        )

    report = qmsdocs.build(sources, tmp_path / "out", formats=["md"], jobs=1, progress=watch)
    assert report.ok
    assert len(sizes) == 5
    assert max(s[0] for s in sizes) == 2
    assert max(s[1] for s in sizes) == 1
    assert max(s[2] for s in sizes) <= 1
    assert max(s[3] for s in sizes) == 2
    assert max(s[4] for s in sizes) == 2
    assert max(s[5] for s in sizes) <= 50
