"""How the processes of a profile feed each other, for the process map of the quality manual (clause 4.4).

An output of one process feeds an input of another when the two phrases name the same thing: the same
meaningful words, or one phrase's words inside the other's ("Objectives" -> "Quality objectives",
"Released design files" -> "Released designs"), or the same final noun with the same qualifier. Sharing
only the noun or only a qualifier is not enough: "Purchase orders" do not feed "Works orders". A
process left without such a link is related to the others by its type instead: management processes
direct core processes, support processes serve them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from qmsdocs.profile.models import Process, Profile

#: Words that carry no meaning of their own in a process input or output.
_GENERIC = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "of",
        "for",
        "to",
        "from",
        "in",
        "on",
        "by",
        "with",
        "per",
        "or",
        "new",
        "all",
        "other",
        "their",
        "its",
        "our",
    ]
)


def _stem(word: str) -> str:
    """A crude singular: "designs" -> "design", "orders" -> "order" (enough for matching short phrases)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


@lru_cache(maxsize=4096)
def keywords(phrase: str) -> tuple[str, ...]:
    """The meaningful words of *phrase*, lower case and singular, in order."""
    return tuple(
        _stem(w) for w in re.findall(r"[a-z0-9]+", phrase.lower()) if w not in _GENERIC and len(w) > 2
    )


def same_thing(output: str, wanted: str) -> bool:
    """True when the output phrase and the input phrase plausibly name the same thing (see module doc)."""
    out_words, in_words = keywords(output), keywords(wanted)
    if not out_words or not in_words:
        return False
    a, b = set(out_words), set(in_words)
    if a <= b or b <= a:
        return True
    # the same kind of thing (same final noun), qualified the same way: "Released design files" and
    # "Released files of the design"; a shared qualifier alone ("Approved changes", "Approved
    # designs") or a shared noun alone ("Purchase orders", "Works orders") is not enough.
    return out_words[-1] == in_words[-1] and len(a & b) >= 2


@dataclass(frozen=True)
class Link:
    """An output of one process that is an input of another."""

    source: Process
    target: Process
    output: str
    input: str


def links(profile: Profile) -> list[Link]:
    """Every output -> input hand-over between two different processes, in profile order."""
    found: list[Link] = []
    for source in profile.processes:
        for target in profile.processes:
            if target.id == source.id:
                continue
            for output in source.outputs:
                for wanted in target.inputs:
                    if same_thing(output, wanted):
                        found.append(Link(source, target, output, wanted))
    return found


class ProcessMap:
    """What the manual template sees as ``process_map`` (computed only when a template asks)."""

    def __init__(self, profile: Profile) -> None:
        self._profile = profile

    @cached_property
    def _links(self) -> list[Link]:
        return links(self._profile)

    @property
    def links(self) -> list[Link]:
        """Hand-overs found by matching outputs to inputs."""
        return list(self._links)

    def of_type(self, kind: str) -> list[Process]:
        """The processes of one type (management, core or support), in profile order."""
        return [p for p in self._profile.processes if p.type == kind]

    @property
    def unlinked(self) -> list[Process]:
        """Processes that no hand-over connects to another process."""
        linked = {link.source.id for link in self._links} | {link.target.id for link in self._links}
        return [p for p in self._profile.processes if p.id not in linked]
