"""Filters that keep the data honest; each is a block over `Example`s with kept/dropped counts."""
