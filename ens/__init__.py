"""ENS: the backend of a patient health space."""
