"""The trend display: per-pen ring buffers, min/max downsampling, the plot and its model."""
