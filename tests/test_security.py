"""Templates are untrusted input: each escape attempt fails with a TemplateError at file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from qmsdocs.cli import main
from qmsdocs.errors import TemplateError
from qmsdocs.library.layers import TemplateLibrary
from qmsdocs.library.plan import plan
from qmsdocs.library.render import render
from qmsdocs.profile.models import Profile

HEADER = "---\nid: X-01\ntitle: Hostile\ncategory: procedure\n---\nA first line.\n"
ATTACK_LINE = 7  # the line after the header

ATTACKS = {
    "class of a model": "{{ org.__class__ }}",
    "mro": "{{ ''.__class__.__mro__ }}",
    "subclasses": "{{ ().__class__.__base__.__subclasses__() }}",
    "init globals": "{{ person.__init__.__globals__ }}",
    "function globals": "{{ role.__globals__ }}",
    "cycler globals": "{{ cycler.__init__.__globals__ }}",
    "lipsum globals": "{{ lipsum.__globals__ }}",
    "template context": "{{ self._TemplateReference__context }}",
    "namespace globals": "{{ namespace.__init__.__globals__['os'] }}",
    "format string": "{{ '{0.__class__}'.format(org) }}",
    "format globals": "{{ '{0.__init__.__globals__}'.format(role) }}",
    "format_map": "{{ '{a.__class__}'.format_map({'a': org}) }}",
    "open": "{{ open('/etc/passwd').read() }}",
    "environment": "{{ os.environ }}",
    "import": "{{ __import__('os').system('true') }}",
    "path read": "{{ profile.source.read_text() }}",
    "path write": "{{ profile.source.write_text('x') }}",
    "path parent": "{{ doc.base_dir.parent }}",
    "huge range": "{{ range(10**9) | length }}",
    "huge string": "{{ 'x' * 10**9 }}",
    "huge power": "{{ 7 ** 100000000 }}",
    "include passwd": "{% include '/etc/passwd' %}",
    "include parent folder": "{% include '../../../../../etc/passwd' %}",
    "include via builtin": "{% include 'builtin/../../../../etc/passwd' %}",
    "import passwd": "{% import '/etc/passwd' as p %}",
    "extends passwd": "{% extends '../../etc/passwd' %}",
}


def _hostile(tmp_path: Path, body: str) -> TemplateLibrary:
    target = tmp_path / "layer/procedures/hostile.md.j2"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(HEADER + body + "\n", encoding="utf-8")
    return TemplateLibrary([tmp_path / "layer"])


@pytest.mark.parametrize("body", ATTACKS.values(), ids=ATTACKS.keys())
def test_attack_is_a_template_error_at_its_line(tmp_path: Path, minimal: Profile, body: str) -> None:
    library = _hostile(tmp_path, body)

    def plan_and_render() -> None:
        the_plan = plan(minimal, library)
        render(the_plan.get("X-01"), minimal, the_plan, library)  # type: ignore[arg-type]

    with pytest.raises(TemplateError) as caught:  # at load ({% extends %}) or at render
        plan_and_render()
    error = caught.value
    assert error.template == str(tmp_path / "layer/procedures/hostile.md.j2")
    assert error.line == ATTACK_LINE
    message = str(error)
    assert message.startswith(f"{error.template}:{ATTACK_LINE}: ")
    for leak in ("root:", "Traceback", "<function", "<class", "environ("):
        assert leak not in message


def test_path_write_attempt_leaves_the_profile_alone(tmp_path: Path, profile_copy) -> None:
    from qmsdocs.profile.models import load_profile

    source = profile_copy("minimal.yaml")
    before = source.read_text(encoding="utf-8")
    profile = load_profile(source)
    library = _hostile(tmp_path, "{{ profile.source.write_text('owned') }}")
    the_plan = plan(profile, library)
    with pytest.raises(TemplateError, match="not allowed in a template"):
        render(the_plan.get("X-01"), profile, the_plan, library)  # type: ignore[arg-type]
    assert source.read_text(encoding="utf-8") == before


def test_symlink_out_of_a_layer_is_not_followed(tmp_path: Path, minimal: Profile) -> None:
    secret = tmp_path / "secret.md.j2"
    secret.write_text("TOP SECRET\n", encoding="utf-8")
    library = _hostile(tmp_path, "{% include 'partials/leak.md.j2' %}")
    (tmp_path / "layer/partials").mkdir()
    (tmp_path / "layer/partials/leak.md.j2").symlink_to(secret)
    # reported when the layer is read (test_security_files.py has the loader's own refusal)
    with pytest.raises(TemplateError, match="leak.md.j2: is a symbolic link to a file outside") as caught:
        plan(minimal, library)
    assert "TOP SECRET" not in str(caught.value)


def test_non_template_files_of_a_layer_cannot_be_included(tmp_path: Path, minimal: Profile) -> None:
    library = _hostile(tmp_path, "{% include 'notes.txt' %}")
    (tmp_path / "layer/notes.txt").write_text("private notes\n", encoding="utf-8")
    the_plan = plan(minimal, library)
    with pytest.raises(TemplateError, match=r"hostile.md.j2:7: template not found: notes.txt"):
        render(the_plan.get("X-01"), minimal, the_plan, library)  # type: ignore[arg-type]


def test_ordinary_arithmetic_and_repetition_still_work(tmp_path: Path, minimal: Profile) -> None:
    library = _hostile(tmp_path, "{{ 2 ** 10 }} {{ '-' * 3 }} {{ 3 * 4 }} {{ profile.source.name }}")
    the_plan = plan(minimal, library)
    text = render(the_plan.get("X-01"), minimal, the_plan, library).text  # type: ignore[arg-type]
    # "---" is a printed value: escaped, as at the start of a line it would be a thematic break
    assert r"1024 \--- 12 minimal.yaml" in text


@pytest.mark.parametrize("name", ["init globals", "include passwd", "path read", "huge range"])
def test_cli_build_reports_the_attack_without_traceback(
    runner, tmp_path: Path, profile_copy, name: str
) -> None:
    _hostile(tmp_path, ATTACKS[name])
    result = runner.invoke(
        main,
        [
            "build",
            str(profile_copy("minimal.yaml")),
            "-f",
            "md",
            "-o",
            str(tmp_path / "out"),
            "-t",
            str(tmp_path / "layer"),
        ],
    )
    assert result.exit_code == 1
    assert f"{tmp_path / 'layer/procedures/hostile.md.j2'}:{ATTACK_LINE}: " in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "out/minimal").exists()
