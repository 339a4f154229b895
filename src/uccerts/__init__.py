"""uccerts: certificate management for Unified Communications clusters."""

__version__ = "0.1.0"
