"""Drills (应急演练): a plan rehearsed by real people in their real inboxes on a simulated clock."""
