# convert/: pending
