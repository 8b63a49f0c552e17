"""The ground floor: domain words every feature and the store share."""
