"""A reseller's end customers, and the users who log in for them."""
