"""Provider APIs served on 127.0.0.1, each checking every request against its official spec."""
