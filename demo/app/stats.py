"""Helpers imported by analyze.py; lives in the encrypted region next to it."""


def mean(values):
    return sum(values) / len(values) if values else 0.0
