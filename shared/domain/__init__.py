"""Pure domain: products, orders, licences. No I/O, no SDK, no clock (time is passed in)."""
