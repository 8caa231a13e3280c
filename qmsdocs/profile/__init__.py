"""The profile: YAML with line marks, the validated models, advice, the JSON Schema and the reference."""
