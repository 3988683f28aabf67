"""placeholder"""

CASES: list = []
