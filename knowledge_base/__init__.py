"""FAQ entries editors own (``entries/*.yml``), and the code that checks and compiles them."""
