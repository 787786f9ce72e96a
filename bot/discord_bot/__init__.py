"""Discord adapter (discord.py 2): parse, authorise, render — no business logic."""
