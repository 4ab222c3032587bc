"""What gathers every capability: the home-screen summary (and, later, the FHIR export)."""
