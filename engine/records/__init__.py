"""What is kept of a case: the signed audit chain, attachments and their storage, comments, evidence
packs and retention."""
