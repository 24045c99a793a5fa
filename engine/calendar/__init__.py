"""Time: the engine clock, working days and holidays, deadline functions, and times in the local zone."""
