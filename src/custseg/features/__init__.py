"""Feature scaling: learned statistics that are saved with the model."""

from .scaling import Scaler, fit_scaler

__all__ = ["Scaler", "fit_scaler"]
