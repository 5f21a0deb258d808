"""Curated dataset export: selection, leak-free splits, formats, manifest, card.

One module per concern; `services.run_export` ties them together.
"""
