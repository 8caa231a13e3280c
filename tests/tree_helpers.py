"""Syntax trees compared field by field (tests of the Markdown parse)."""

from __future__ import annotations

from qmsdocs.markdown.nodes import Node


def shape(node: Node) -> tuple:
    """Every field of *node* and, nested, of its children: equal shapes are equal trees."""
    return (
        node.type,
        node.tag,
        node.map,
        node.content,
        node.markup,
        node.info,
        dict(node.attrs),
        [shape(child) for child in node.children],
    )
