"""Markdown: the syntax tree, the direct block reader, and escaping of profile text."""
