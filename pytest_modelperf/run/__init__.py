"""The pytest session's state: records, re-run confirmation, selection-aware orphans, and what a session writes at its end."""
