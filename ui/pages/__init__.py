"""The HMI's pages: thin widgets over the link and their table models."""
