"""connectors layer (see DESIGN.md)."""
