"""User-task forms (form-js JSON): validating submissions, their conditions, and their JSON Schema."""
