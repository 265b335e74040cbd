"""The modelperf command: one module per subcommand. Never imports pytest."""
