"""Curated dataset export: selection, leak-free splits, formats, manifest, card.

One module per concern; `service.run_export` ties them together.
"""
