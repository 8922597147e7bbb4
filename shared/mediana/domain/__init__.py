"""The domain: the input contract, folding, day sections, presets, ranges, time zones and
report values. Pure Python and pandas, no AWS: tested without mocks, benchmarked alone."""
