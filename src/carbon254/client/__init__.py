"""client layer (see DESIGN.md)."""
