"""亮政策: policy texts, question normalisation and matching."""
