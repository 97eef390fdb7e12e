# runtime/ (pending)
