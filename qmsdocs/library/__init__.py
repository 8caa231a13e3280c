"""The template library: layers, the sandbox, front matter, the plan of a set, rendering, checks and
the consultant's workspace."""
