"""Results for people: the terminal table, Markdown, CSV, the HTML report and plots."""
