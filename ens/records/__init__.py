"""Records: advance directives, the trusted person, emergency contacts, the doctor, the medical profile."""
