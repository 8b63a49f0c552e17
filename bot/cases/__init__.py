"""亮渠道 and 我要求助: channels and help requests."""
