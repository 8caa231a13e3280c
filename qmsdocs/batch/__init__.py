"""Builds: build() and BuildReport, the per-document pipeline, worker processes, safe output,
the incremental manifest, the output lock and progress."""
