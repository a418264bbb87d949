"""Pure core: value types, parsing of bytes we own, policies. No I/O, threads or vendor imports."""
