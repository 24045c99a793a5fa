"""Running PlanFlow as a service: worker heartbeats, readiness checks, figures for /metrics, log format."""
