"""Running cases: the use cases, the one step path over SpiffWorkflow, its stored state and derived rows,
and what wakes a case (timers, messages), moves it (migration) or checks it (liveness, doctor)."""
