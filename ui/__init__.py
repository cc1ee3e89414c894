"""The Qt HMI: view-models, pages, widgets and theme (reaches the runtime via its client)."""
