"""Recipes shared across plugins, as package data (``ssl_universal_recipes``): ``<modality>/<name>.yaml``."""
