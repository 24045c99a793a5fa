"""Read models for people: the inbox, the case workspace, the team view and the compliance review."""
