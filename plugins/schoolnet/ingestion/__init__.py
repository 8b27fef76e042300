"""Reading the ESA sheets: the Google session, quota pacing, the reader, raw landing."""
