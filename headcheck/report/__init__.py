"""Research reports over a headcheck store: prevalence with confidence intervals, template
clusters, reused photos and how the data were gathered, as HTML, CSV and Datasette tables.

``build.build_report`` is the entry point; ``command.report`` is its click command. Plotting and
templating load only here, so the core never imports matplotlib or Jinja2.
"""
