"""What is kept on disk: the baseline store (all-or-nothing, locked), atomic writes, and the run export's format."""
