"""The built-in plugins, one sub-package per modality; installed as ``ssl_universal_plugins``.

Each registers its Tasks, Models and Tokenizers when imported, and is found through the entry-point
group ``ssl_universal.plugins`` like any third-party plugin (see ``pyproject.toml``).
"""
