"""Files that ship with Lineside: the demo project, the demo models and their model card, the
example runtime configuration. Package data, read through `runtime.shipped`."""
