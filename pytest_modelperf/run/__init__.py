"""The pytest session's state and a test's run: judged measurements, the current attempt's checks,
re-run confirmation, selection-aware orphans, the report header, and what a session writes at its end."""
