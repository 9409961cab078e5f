"""/metrics: the text exposition (format 0.0.4) of the live state, one module per area, and /probe's rendering.

Floor: beside web and dashboards, below the app; reads every floor below.
"""
