"""The national demo data set: ~245 ESA sheets, ~29,000 schools, day by day from January 2018.

It stands in for the real Google Drive folder in tests and in `make demo`: the emulator serves the
sheets, and the true state and the list of injected mistakes tell tests what the pipeline must find.
"""

from schoolnet.devtools.demo.generate import DemoManifest, expected_counts, generate, read_manifest

__all__ = ["DemoManifest", "expected_counts", "generate", "read_manifest"]
