"""Reports: figures (matplotlib), the fatigue report (HTML + Markdown) and postmortem timelines."""
