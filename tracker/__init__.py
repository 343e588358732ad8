"""What a change means (extraction, normalisation, diffs, classification, events), and the application around it."""
