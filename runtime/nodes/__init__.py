"""Built-in node types, one module per family; their specs are in catalog.py."""
