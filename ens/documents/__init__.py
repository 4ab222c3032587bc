"""Documents of care: files (PDF, JPEG, PNG) kept encrypted outside the database, their metadata,
who may see them (masking), and their FHIR mapping."""
