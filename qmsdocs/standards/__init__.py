"""ISO catalogues and what templates compute from a profile: registers, processes, ISO 9004
maturity and suggestions, ISO 10004 satisfaction, charts."""
