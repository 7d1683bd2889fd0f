"""Leaderboard: verified submissions in, a static page out."""
