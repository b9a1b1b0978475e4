"""The justice chain: complaints forwarded to prosecutors, decisions, hearings, protection
measures and their breaches."""
