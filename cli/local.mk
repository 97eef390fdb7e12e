# cli/ (pending)
