"""Presentation only: plots, text summaries and the HTML report.

Everything here reads a result's saved form (``segments.json`` / ``model.json``
dictionaries); nothing here computes segments.
"""
