"""sanliang (三亮助手): policies, the list of help and the channels, in a chat app."""

__version__ = "0.1.0"
