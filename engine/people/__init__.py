"""People: users, roles, sign-in, API tokens, and who may see a complainant's identity."""
