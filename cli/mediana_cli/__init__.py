"""Developer and operator tooling for mediana (not shipped to Lambda)."""
