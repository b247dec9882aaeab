"""Typed clients for the systems the actions call, one module per system."""
