"""Packaged data files of the core (token-frequency tables of backbones), read with importlib.resources."""
