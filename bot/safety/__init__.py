"""Safety first: emergency triage on every free text a resident types."""
